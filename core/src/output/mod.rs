//! Salt's outputters: json, yaml, nested, highstate, txt.
