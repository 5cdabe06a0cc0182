//! Value parsers shared by the commands' flags, so a duration or a header is spelled the same
//! way everywhere (`30s`, `250ms`, `2m`; `Name: value`).

use std::time::Duration;

use http::{HeaderName, HeaderValue};

/// `30s`, `250ms`, `2m`, `1h`: the scenario files' duration syntax.
pub fn duration(text: &str) -> Result<Duration, String> {
    gauntlet_harness::scenario::duration::parse_duration(text)
}

/// A run's length: a [`duration`] above zero, as `[load] duration` must be in a file (a run of
/// 0 s sends nothing and would pass).
pub fn run_length(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        d if d.is_zero() => Err("must be above zero: a run of 0s measures nothing".into()),
        d => Ok(d),
    }
}

/// The stack's `--base-port`: 0 (free ports), or a port that leaves room for the gateway below
/// it and the catalog instances and partner above it.
pub fn base_port(text: &str) -> Result<u16, String> {
    let port: u16 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a port (0-65535)"))?;
    if port != 0 && !(2..=65532).contains(&port) {
        return Err(format!(
            "{port}: iam takes PORT, the gateway PORT-1, catalog and partner PORT+1..PORT+3; give 2-65532, or 0 for free ports"
        ));
    }
    Ok(port)
}

/// `Name: value`, an HTTP header (credentials for `contract test`).
pub fn header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = name_value(text)?;
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header name {name:?}: {e}"))?;
    let value = HeaderValue::from_str(value).map_err(|e| format!("header value of {name}: {e}"))?;
    Ok((name, value))
}

/// `name: value`, gRPC metadata: a header whose name is lower-cased and whose value is ASCII
/// (binary `-bin` keys are not taken from the command line).
pub fn metadata(text: &str) -> Result<(String, String), String> {
    let (name, value) = header(text)?;
    let name = name.as_str().to_string(); // HeaderName is lower case already
    if name.parse::<tonic::metadata::AsciiMetadataKey>().is_err() || name.ends_with("-bin") {
        return Err(format!("{name:?} is not an ASCII metadata key"));
    }
    let value = value
        .to_str()
        .ok()
        .filter(|v| v.parse::<tonic::metadata::AsciiMetadataValue>().is_ok())
        .ok_or_else(|| format!("the value of {name:?} is not valid ASCII metadata"))?;
    Ok((name, value.to_string()))
}

fn name_value(text: &str) -> Result<(&str, &str), String> {
    text.split_once(':')
        .map(|(name, value)| (name.trim(), value.trim()))
        .ok_or_else(|| format!("{text:?} is not `Name: value`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_metadata_share_one_syntax() {
        let (name, value) = header("Authorization:  Bearer x ").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer x")
        );
        assert_eq!(metadata("X-Tenant: a").unwrap(), ("x-tenant".into(), "a".into()));
        assert!(header("no colon").unwrap_err().contains("Name: value"));
        assert!(metadata("data-bin: AAA").is_err());
        assert!(metadata("x: caf\u{e9}").is_err());
    }

    /// Issue 20: `--base-port 65535` put catalog on a random port silently.
    #[test]
    fn base_ports_leave_room_for_every_service() {
        assert_eq!(base_port("8081"), Ok(8081));
        assert_eq!(base_port("0"), Ok(0));
        assert!(base_port("65535").unwrap_err().contains("2-65532"));
        assert!(base_port("1").is_err());
        assert!(base_port("70000").unwrap_err().contains("not a port"));
    }

    #[test]
    fn durations_use_the_scenario_syntax() {
        assert_eq!(duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(duration("soon").is_err());
        // Issue 20: `--duration 0s` sent nothing and passed.
        assert!(run_length("0s").unwrap_err().contains("above zero"));
        assert_eq!(run_length("2s").unwrap(), Duration::from_secs(2));
    }
}
