//! What an interrupted command leaves behind: nothing. Partial outputs (files and folders) and
//! running tool processes register here while they exist; on SIGINT, SIGTERM or SIGHUP the
//! handler stops the tools (each runs in its own process group, so their own children stop
//! too), removes the partial outputs, and exits with 128 + the signal's number.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use anyhow::Context;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

struct Leftovers {
    partials: Vec<PathBuf>,
    /// Folders made for outputs: removed after the partials, if that leaves them empty.
    new_folders: Vec<PathBuf>,
    /// Process group ids of running tools.
    tools: Vec<i32>,
}

static LEFTOVERS: Mutex<Leftovers> =
    Mutex::new(Leftovers { partials: Vec::new(), new_folders: Vec::new(), tools: Vec::new() });

fn leftovers() -> std::sync::MutexGuard<'static, Leftovers> {
    // A panic elsewhere never leaves the lists half-changed, so a poisoned lock is still usable.
    LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the thread that cleans up on a terminating signal.
pub fn install() -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("cannot install the signal handler")?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let left = leftovers();
            for &group in &left.tools {
                // SAFETY: kill(2) on a process group this process created; no memory is involved.
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
            for partial in &left.partials {
                let _ = if partial.is_dir() {
                    std::fs::remove_dir_all(partial)
                } else {
                    std::fs::remove_file(partial)
                };
            }
            for folder in left.new_folders.iter().rev() {
                let _ = std::fs::remove_dir(folder);
            }
            let name = match signal {
                SIGINT => "SIGINT",
                SIGTERM => "SIGTERM",
                _ => "SIGHUP",
            };
            eprintln!(
                "dacapo: stopped by {name}; removed {} partial output(s), stopped {} tool process(es)",
                left.partials.len(),
                left.tools.len()
            );
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// A file or folder that a signal removes until this is dropped (when it is complete, or
/// already gone).
pub struct Partial(PathBuf);

impl Partial {
    pub fn new(path: &Path) -> Partial {
        leftovers().partials.push(path.to_path_buf());
        Partial(path.to_path_buf())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        leftovers().partials.retain(|f| f != &self.0);
    }
}

/// Runs a tool to completion, capturing its output, in a process group of its own that a
/// signal stops.
pub fn output(command: &mut Command) -> std::io::Result<Output> {
    use std::os::unix::process::CommandExt;
    let child = {
        // Spawned under the lock, so a signal never finds a tool that it cannot see.
        let mut left = leftovers();
        let child = command
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        left.tools.push(child.id() as i32);
        child
    };
    let id = child.id() as i32;
    let result = child.wait_with_output();
    leftovers().tools.retain(|&g| g != id);
    result
}

/// A temporary work folder, removed when dropped or by a signal.
pub struct Scratch {
    dir: tempfile::TempDir,
    _partial: Partial,
}

impl Scratch {
    pub fn new() -> anyhow::Result<Scratch> {
        let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
        let partial = Partial::new(dir.path());
        Ok(Scratch { dir, _partial: partial })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// An output folder written whole or not at all: its files go into a hidden sibling folder
/// (`.NAME.partial-PID`, on the same file system), which `replace` or `merge` moves into place
/// once everything is written. Dropped before that, or on a signal, the sibling is removed.
pub struct StagedFolder {
    target: PathBuf,
    staging: PathBuf,
    _partial: Partial,
    parents: NewFolders,
}

impl StagedFolder {
    /// Checks the target (a folder or nothing yet) and creates the staging folder; `option` names
    /// the argument in errors.
    pub fn new(target: &Path, option: &str) -> anyhow::Result<StagedFolder> {
        anyhow::ensure!(
            !target.exists() || target.is_dir(),
            "{option} {} is a file; name a folder (it is created, or its results replaced)",
            target.display()
        );
        // Made absolute and normalized, so `.` and `out/..` name their folder too.
        let absolute: PathBuf = std::path::absolute(target)
            .with_context(|| format!("{option} {}", target.display()))?
            .components()
            .fold(PathBuf::new(), |mut path, part| {
                match part {
                    std::path::Component::CurDir => {}
                    std::path::Component::ParentDir => {
                        path.pop();
                    }
                    other => path.push(other),
                }
                path
            });
        let name = absolute
            .file_name()
            .with_context(|| format!("{option} {} is not a folder name", target.display()))?;
        let parent = absolute.parent().unwrap_or(Path::new("/"));
        let parents = NewFolders::create(parent)?;
        let staging = parent.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
        let partial = Partial::new(&staging);
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("cannot write into {}", parent.display()))?;
        Ok(StagedFolder { target: absolute.clone(), staging, _partial: partial, parents })
    }

    /// The target folder, absolute and normalized.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where the files go until they are moved into place.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The staged folder becomes the target; whatever the target held is gone.
    pub fn replace(self) -> anyhow::Result<()> {
        if self.target.exists() {
            std::fs::remove_dir_all(&self.target)
                .with_context(|| format!("cannot replace {}", self.target.display()))?;
        }
        std::fs::rename(&self.staging, &self.target)
            .with_context(|| format!("cannot move the results to {}", self.target.display()))?;
        self.keep_parents();
        Ok(())
    }

    /// Every staged file moves to the same place under the target, replacing a file of that
    /// name; the target's other files stay.
    pub fn merge(self) -> anyhow::Result<()> {
        if !self.target.exists() {
            return self.replace();
        }
        move_files(&self.staging, &self.target)?;
        self.keep_parents();
        Ok(())
    }

    fn keep_parents(mut self) {
        std::mem::replace(&mut self.parents, NewFolders(Vec::new())).keep();
    }
}

fn move_files(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create folder {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let path = entry?.path();
        let dest = to.join(path.file_name().expect("a folder entry has a name"));
        if path.is_dir() {
            move_files(&path, &dest)?;
        } else {
            std::fs::rename(&path, &dest)
                .with_context(|| format!("cannot move {} into place", dest.display()))?;
        }
    }
    Ok(())
}

impl Drop for StagedFolder {
    fn drop(&mut self) {
        if self.staging.exists() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// The folders that an output needs and that do not exist yet, created now. Unless `keep` is
/// called, dropping this removes them again (those still empty), so a failed command leaves
/// no empty folders behind.
pub struct NewFolders(Vec<PathBuf>);

impl NewFolders {
    pub fn create(dir: &Path) -> anyhow::Result<NewFolders> {
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        let created = NewFolders(missing.into_iter().rev().collect());
        leftovers().new_folders.extend(created.0.iter().cloned());
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
        Ok(created)
    }

    /// The output is complete: its folders stay.
    pub fn keep(mut self) {
        leftovers().new_folders.retain(|f| !self.0.contains(f));
        self.0.clear();
    }
}

impl Drop for NewFolders {
    fn drop(&mut self) {
        for dir in self.0.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        leftovers().new_folders.retain(|f| !self.0.contains(f));
    }
}
