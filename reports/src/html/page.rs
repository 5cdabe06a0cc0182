//! What every gauntlet HTML page shares: the stylesheet, HTML escaping and the key-value
//! rows of its summary tables. The comparison page adds its own styles after these.

use std::fmt::Write;

pub(super) const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 0; background: #f6f7f9; color: #1f2328; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff;
  min-height: 100vh; box-sizing: border-box; }
h1 { font-size: 26px; margin: 0 0 6px; display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
h2 { font-size: 20px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
p.description { margin: 0 0 16px; color: #57606a; }
.verdict { display: inline-block; padding: 3px 12px; border-radius: 6px; font-size: 18px;
  font-weight: 700; letter-spacing: 0.04em; color: #fff; }
.verdict.passed { background: #1a7f37; }
.verdict.failed { background: #cf222e; }
.verdict.interrupted { background: #9a6700; }
.banner { margin: 12px 0; padding: 10px 14px; border-radius: 6px; border: 1px solid #ff8182;
  background: #ffebe9; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #d8dee4; text-align: left; vertical-align: top; }
thead th { background: #f0f2f4; border-bottom: 2px solid #d0d7de; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 2px solid #d0d7de; background: #f6f8fa; }
table.kv th { background: none; width: 130px; color: #57606a; font-weight: 600; border-bottom: 1px solid #eaeef2; }
table.kv td { border-bottom: 1px solid #eaeef2; }
.pass { color: #1a7f37; font-weight: 700; }
.fail { color: #cf222e; font-weight: 700; }
td.bad { color: #cf222e; font-weight: 600; }
span.kind { white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
  background: #f0f2f4; padding: 1px 4px; border-radius: 4px; }
.muted { color: #6e7781; }
figure { margin: 18px 0 28px; }
figure svg { display: block; width: 100%; height: auto; max-width: 1120px;
  border: 1px solid #d8dee4; border-radius: 6px; }
figcaption { font-size: 13px; color: #57606a; margin-top: 6px; }
.note { padding: 10px 14px; border: 1px dashed #d0d7de; border-radius: 6px; color: #57606a; }
.columns { display: grid; grid-template-columns: fit-content(430px) minmax(0, 1fr); column-gap: 32px;
  align-items: start; }
@media (max-width: 1000px) { .columns { grid-template-columns: minmax(0, 1fr); } }
.scroll { overflow-x: auto; }
code.nowrap { white-space: nowrap; }
td code { overflow-wrap: break-word; }
footer { margin-top: 36px; font-size: 12px; color: #6e7781; }
"#;

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn kv(out: &mut String, key: &str, value_html: &str) {
    let _ = writeln!(out, "<tr><th>{key}</th><td>{value_html}</td></tr>");
}
