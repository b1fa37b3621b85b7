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

/// The items of a comma-separated list, in the order given, each read by `parse`. Every list
/// option reads its value here, so all of them treat spaces, empty items and repeats alike: an
/// empty item or an item listed twice is an error that names the option.
pub fn parse_list<T: PartialEq>(
    option: &str,
    text: &str,
    parse: impl Fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut items = Vec::new();
    for name in text.split(',').map(str::trim) {
        anyhow::ensure!(
            !name.is_empty(),
            "{option} '{text}' has an empty item; separate the items by single commas"
        );
        let item = parse(name)?;
        anyhow::ensure!(!items.contains(&item), "{option} lists '{name}' twice");
        items.push(item);
    }
    Ok(items)
}

/// An MX format by name (mx9, mx6 or mx4): every command's `--format` and `--formats` items.
pub fn parse_format(text: &str) -> anyhow::Result<mx::Format> {
    Ok(text.parse()?)
}

/// The largest seed any command takes: every seed fits nextpnr's `int`, and a seed plus the
/// streams derived from it (B's rounding at seed + 1, a run's policy and scenario in the
/// lower 16 bits) stays distinct for distinct seeds.
pub const MAX_SEED: u64 = (1 << 31) - 1;

/// A `--seed` value: a decimal integer from 0 to [`MAX_SEED`].
pub fn parse_seed(text: &str) -> anyhow::Result<u64> {
    match text.parse::<u64>() {
        Ok(seed) if seed <= MAX_SEED => Ok(seed),
        _ => anyhow::bail!("'{text}' is not a seed; a seed is an integer from 0 to {MAX_SEED}"),
    }
}

/// A 16-hex-digit key of `settings` and the text of `sources`.
pub fn cache_key(settings: impl Hash, sources: &[&str]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    settings.hash(&mut h);
    sources.hash(&mut h);
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(s: &str) -> anyhow::Result<u32> {
        s.parse().map_err(|_| anyhow::anyhow!("'{s}' is not a number"))
    }

    #[test]
    fn lists_keep_order_and_reject_empty_items_and_repeats() {
        assert_eq!(parse_list("--n", "3, 1,2", number).unwrap(), [3, 1, 2]);
        assert_eq!(parse_list("--n", "1,3,1", number).unwrap_err().to_string(), "--n lists '1' twice");
        for bad in ["", "1,,2", "1,", ",1"] {
            assert!(parse_list("--n", bad, number).unwrap_err().to_string().contains("empty item"), "{bad}");
        }
        assert!(parse_list("--n", "1,x", number).unwrap_err().to_string().contains("'x'"));
    }

    #[test]
    fn seeds_stop_at_the_stated_maximum() {
        assert_eq!(parse_seed("0").unwrap(), 0);
        assert_eq!(parse_seed("2147483647").unwrap(), MAX_SEED);
        for bad in ["2147483648", "18446744073709551615", "-1", "1e3", ""] {
            assert!(parse_seed(bad).unwrap_err().to_string().contains("from 0 to 2147483647"), "{bad}");
        }
    }
}
