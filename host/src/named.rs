//! What the command line and the cache files share: finding a named item, and keys that change
//! with the source of what a cached result came from.

use std::hash::{Hash, Hasher};

/// The item of `all` called `given`; otherwise an error that lists the names, as
/// "unknown kernel 'eval'; the kernels are infer, label, train".
pub fn by_name<T: Copy>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
    given: &str,
    (what, whats): (&str, &str),
) -> anyhow::Result<T> {
    match all.iter().copied().find(|&t| name(t) == given) {
        Some(t) => Ok(t),
        None => {
            let names: Vec<&str> = all.iter().map(|&t| name(t)).collect();
            anyhow::bail!("unknown {what} '{given}'; the {whats} are {}", names.join(", "))
        }
    }
}

/// A 16-hex-digit key of `settings` and the text of `sources`.
pub fn cache_key(settings: impl Hash, sources: &[&str]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    settings.hash(&mut h);
    sources.hash(&mut h);
    format!("{:016x}", h.finish())
}
