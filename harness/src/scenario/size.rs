//! Sizes as a scenario writes them: bytes, or a number with a unit (`16MiB`, `500kB`).

/// A size in bytes: an integer, or a string with a unit (`512KiB`, `16MiB`, `1GiB`, `100kB`,
/// `2MB`, `1GB`, `300B`).
pub(super) fn size_of(value: &toml::Value) -> Result<usize, String> {
    let text = match value {
        toml::Value::Integer(n) => return usize::try_from(*n).map_err(|_| format!("{n} is not a size")),
        toml::Value::String(s) => s.trim(),
        other => {
            return Err(format!(
                "a {} is not a size (bytes, or e.g. \"16MiB\")",
                other.type_str()
            ));
        }
    };
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. \"16MiB\")"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "{other:?} is not a size unit (B, kB, KiB, MB, MiB, GB, GiB)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("{text:?} is too large"))
}
