//! Byte sizes on the command line and in `purezmq.toml`: `4096`, `64KiB`, `1MiB`,
//! `1MB`.

/// Parses a byte count: a whole number, optionally followed by a unit (`B`, `KB`,
/// `MB`, `GB` in powers of 1000, `KiB`, `MiB`, `GiB` in powers of 1024; case
/// ignored). For clap's `value_parser`.
pub fn parse(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let hint = "write a whole number of bytes, optionally with a unit: KiB, MiB, GiB, KB, MB, GB (e.g. 65536, 64KiB, 1MiB)";
    let value: u64 = number
        .parse()
        .map_err(|_| format!("bad size {text:?}: {hint}"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(format!("bad unit {unit:?} in size {text:?}: {hint}")),
    };
    value
        .checked_mul(multiplier)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .ok_or_else(|| format!("size {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("4096"), Ok(4096));
        assert_eq!(parse("64KiB"), Ok(65_536));
        assert_eq!(parse("1MiB"), Ok(1_048_576));
        assert_eq!(parse("1mb"), Ok(1_000_000));
        assert_eq!(parse("2 GiB"), Ok(2 << 30));
        assert_eq!(parse("0"), Ok(0));
    }

    #[test]
    fn errors_say_what_to_write() {
        assert!(parse("MiB").unwrap_err().starts_with("bad size \"MiB\""));
        assert!(
            parse("1.5MiB")
                .unwrap_err()
                .starts_with("bad unit \".5MiB\"")
        );
        assert!(parse("5 parsecs").unwrap_err().starts_with("bad unit"));
        assert!(parse("99999999999999999999").is_err());
        assert_eq!(
            parse("18446744073709551615GiB").unwrap_err(),
            "size \"18446744073709551615GiB\" is too large"
        );
    }
}
