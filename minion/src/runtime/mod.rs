//! The state runtime (salt/state.py `State`): lowstate chunks in, results
//! out. Requisites, ordering, `mod_watch`, `prereq`, `listen`, `onlyif`/
//! `unless`/`creates`/`check_cmd`, `retry`, `failhard`, test mode and the
//! run lock live here; the state functions themselves are in
//! [`crate::states`].
