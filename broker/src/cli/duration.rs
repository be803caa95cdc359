//! Durations on the command line: `500ms`, `2s`, `1m`, `1h`, `1.5s`.

use std::time::Duration;

/// Parses a duration: a number (decimals allowed) followed by `us`, `ms`, `s`, `m`
/// or `h`; `0` alone is zero. For clap's `value_parser`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let hint = "write a number and a unit: us, ms, s, m or h (e.g. 500ms, 2s, 1m)";
    if number.is_empty() {
        return Err(format!("bad duration {text:?}: {hint}"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}: {hint}"))?;
    let seconds_per_unit = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => return Err(format!("duration {text:?} has no unit: {hint}")),
        _ => return Err(format!("bad unit {unit:?} in duration {text:?}: {hint}")),
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| format!("duration {text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn errors_say_what_to_write() {
        assert_eq!(
            parse("5").unwrap_err(),
            "duration \"5\" has no unit: write a number and a unit: us, ms, s, m or h (e.g. 500ms, 2s, 1m)"
        );
        assert!(parse("5d").unwrap_err().starts_with("bad unit \"d\""));
        assert!(parse("ms").unwrap_err().starts_with("bad duration \"ms\""));
        assert!(parse("1.2.3s").is_err());
    }
}
