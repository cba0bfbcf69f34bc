//! The `highstate` outputter, minimal: compile errors (a list) are shown as
//! `salt/output/highstate.py` shows them; other data falls back to nested.
//! (Salt itself only uses it for functions whose outputter is `highstate`;
//! the state-run summary comes with the state runtime.)

use super::{nested, Colors, OutputOptions};
use crate::value::Value;

pub fn output(data: &Value, opts: &OutputOptions) -> String {
    let Value::Map(hosts) = data else {
        return match data {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Null => "None".into(),
            other => nested_fallback(other, opts),
        };
    };
    let c = Colors::new(opts.color);
    let mut out = Vec::new();
    for (host, hostdata) in hosts {
        let host = super::pyrepr::str_of(host);
        let mut hstrs = Vec::new();
        let mut hcolor = c.green;
        match hostdata {
            Value::Int(i) => {
                hstrs.push(format!("{}    {}{}", hcolor, i, c.endc));
                hcolor = c.cyan;
            }
            Value::Str(s) => {
                for line in nested::splitlines(s) {
                    hstrs.push(format!("{}    {}{}", hcolor, line, c.endc));
                }
                hcolor = c.cyan;
            }
            Value::List(errs) => {
                hcolor = c.light_red;
                hstrs.push(format!("    {}Data failed to compile:{}", hcolor, c.endc));
                for err in errs {
                    let e = super::pyrepr::str_of(err).replace('\u{1b}', "?");
                    hstrs.push(format!("{}----------\n    {}{}", hcolor, e, c.endc));
                }
            }
            _ => return nested_fallback(data, opts),
        }
        out.push(format!(
            "{}{}{}:\n{}",
            hcolor,
            host,
            c.endc,
            hstrs.join("\n")
        ));
    }
    out.join("\n")
}

fn nested_fallback(data: &Value, opts: &OutputOptions) -> String {
    nested::output(
        data,
        &nested::NestedOptions {
            color: opts.color,
            retcode: opts.retcode,
            base_indent: 0,
            sort: opts.sort.clone(),
        },
    )
}
