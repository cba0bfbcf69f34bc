//! Targeting: does a target expression match this minion?
//! (glob, pcre, list, grain, grain_pcre, pillar, ipcidr, compound, nodegroup)

use crate::value::Value;

/// What a minion knows about itself for matching.
pub struct MatchContext<'a> {
    pub id: &'a str,
    pub grains: &'a Value,
    pub pillar: &'a Value,
    /// `nodegroups` from config (a map), or Null.
    pub nodegroups: &'a Value,
}

/// Whether `tgt` of type `tgt_type` ("glob", "pcre", "list", "grain",
/// "grain_pcre", "pillar", "pillar_pcre", "ipcidr", "compound", "nodegroup")
/// matches. An invalid expression is an error.
pub fn matches(tgt: &Value, tgt_type: &str, ctx: &MatchContext) -> Result<bool, String> {
    let _ = (tgt, tgt_type, ctx);
    Err("matcher not implemented".into())
}
