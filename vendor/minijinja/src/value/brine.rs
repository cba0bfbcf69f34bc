// BRINE PATCH: this whole file is a Brine addition (see BRINE-PATCHES.md).
//
// Salt formulas mutate Jinja lists and dicts in place
// (`{% do l.append(x) %}`, `{% do d.update(y) %}`), which needs Python's
// shared, mutable containers. `Value::from_object` routes every `Vec<Value>`
// and `ValueMap` through `brine_wrap`, so list/dict literals, filter results
// and converted host data all become these shared objects. The mutating
// methods themselves live in Brine (its unknown-method callback); this file
// only provides the containers and Python's `repr` rendering.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::value::{Enumerator, Object, ObjectRepr, Value, ValueKind, ValueMap, ValueRepr};

/// The ordered map type behind [`MutMap`].
pub type BrineMap = ValueMap;

/// A shared, mutable list (Python `list`).
#[derive(Default)]
pub struct MutList {
    items: Mutex<Vec<Value>>,
    /// Part of data shared between renders (see [`shared_writes`]).
    shared: bool,
}

/// A shared, mutable ordered dict (Python `dict`).
#[derive(Default)]
pub struct MutMap {
    map: Mutex<BrineMap>,
    /// Python `OrderedDict` rather than `dict` (YAML dumps keep its order).
    ordered: bool,
    /// Part of data shared between renders (see [`shared_writes`]).
    shared: bool,
}

/// Counts the writes to lists and dicts created with `shared` set, so a
/// host that hands the same objects to several renders can tell whether a
/// render changed them.
static SHARED_WRITES: AtomicU64 = AtomicU64::new(0);

/// How many writes lists and dicts created with `shared` set have seen
/// (in any thread).
pub fn shared_writes() -> u64 {
    SHARED_WRITES.load(Ordering::Relaxed)
}

fn note_write(shared: bool) {
    if shared {
        SHARED_WRITES.fetch_add(1, Ordering::Relaxed);
    }
}

/// Read access to a list's items or a dict's entries (see
/// [`MutList::items_mut`] / [`MutMap::map_mut`] for writes).
pub struct ReadGuard<'a, T>(MutexGuard<'a, T>);

impl<T> std::ops::Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a panic happened elsewhere; the data is
    // still a valid list/map.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MutList {
    /// A new list value.
    pub fn new_value(items: Vec<Value>) -> Value {
        Self::with_flags(items, false)
    }
    /// A new list value whose writes are counted by [`shared_writes`].
    pub fn new_shared_value(items: Vec<Value>) -> Value {
        Self::with_flags(items, true)
    }
    fn with_flags(items: Vec<Value>, shared: bool) -> Value {
        Value::from(ValueRepr::Object(crate::value::DynObject::new(Arc::new(MutList {
            items: Mutex::new(items),
            shared,
        }))))
    }
    /// Locked read access to the items.
    pub fn items(&self) -> ReadGuard<'_, Vec<Value>> {
        ReadGuard(lock(&self.items))
    }
    /// Locked write access to the items.
    pub fn items_mut(&self) -> MutexGuard<'_, Vec<Value>> {
        note_write(self.shared);
        lock(&self.items)
    }
}

impl MutMap {
    /// A new dict value.
    pub fn new_value(map: BrineMap) -> Value {
        Self::with_kind(map, false, false)
    }
    /// A new `OrderedDict` value.
    pub fn new_ordered_value(map: BrineMap) -> Value {
        Self::with_kind(map, true, false)
    }
    /// A new dict (`ordered`: `OrderedDict`) value whose writes are counted
    /// by [`shared_writes`].
    pub fn new_shared_value(map: BrineMap, ordered: bool) -> Value {
        Self::with_kind(map, ordered, true)
    }
    fn with_kind(map: BrineMap, ordered: bool, shared: bool) -> Value {
        Value::from(ValueRepr::Object(crate::value::DynObject::new(Arc::new(MutMap {
            map: Mutex::new(map),
            ordered,
            shared,
        }))))
    }
    /// Whether this is an `OrderedDict`.
    pub fn is_ordered(&self) -> bool {
        self.ordered
    }
    /// Locked read access to the entries.
    pub fn map(&self) -> ReadGuard<'_, BrineMap> {
        ReadGuard(lock(&self.map))
    }
    /// Locked write access to the entries.
    pub fn map_mut(&self) -> MutexGuard<'_, BrineMap> {
        note_write(self.shared);
        lock(&self.map)
    }
}

impl fmt::Debug for MutList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.items().clone();
        f.debug_list().entries(items.iter()).finish()
    }
}

impl fmt::Debug for MutMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let map = self.map().clone();
        f.debug_map().entries(map.iter()).finish()
    }
}

impl Object for MutList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = self.items();
        let idx = key.as_i64()?;
        let idx = if idx < 0 { items.len() as i64 + idx } else { idx };
        items.get(usize::try_from(idx).ok()?).cloned()
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items().clone())
    }
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items().len())
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Snapshot first: the lock must not be held while printing items
        // (a list may contain itself).
        let items = self.items().clone();
        write_seq_repr(f, &items)
    }
}

impl Object for MutMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.map().get(key).cloned()
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.map().keys().cloned().collect())
    }
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.map().len())
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<(Value, Value)> =
            self.map().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        f.write_str("{")?;
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_py_repr(f, k)?;
            f.write_str(": ")?;
            write_py_repr(f, v)?;
        }
        f.write_str("}")
    }
}

/// Turn freshly built containers into the shared mutable ones.
pub(crate) fn brine_wrap<T: Object + Send + Sync + 'static>(value: T) -> Result<Value, T> {
    let mut slot = Some(value);
    let any: &mut dyn std::any::Any = &mut slot;
    if let Some(v) = any.downcast_mut::<Option<Vec<Value>>>() {
        return Ok(MutList::new_value(v.take().unwrap_or_default()));
    }
    if let Some(m) = any.downcast_mut::<Option<BrineMap>>() {
        return Ok(MutMap::new_value(m.take().unwrap_or_default()));
    }
    match slot {
        Some(v) => Err(v),
        None => Ok(Value::UNDEFINED),
    }
}

fn write_seq_repr(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
    f.write_str("[")?;
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_py_repr(f, v)?;
    }
    f.write_str("]")
}

/// Python's `repr()` of a string.
pub fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr(float)` (also its `str(float)`).
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{:e}", f);
    let Some((mant, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if mant.starts_with('-') { "-" } else { "" };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if !(-4..16).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { "-" } else { "+" };
        return format!("{sign}{m}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1;
    if point <= 0 {
        format!("{sign}0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{sign}{}{}.0", digits, "0".repeat(point as usize - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point as usize], &digits[point as usize..])
    }
}

std::thread_local! {
    static REPR_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Write Python's `repr()` of a value (as inside a printed list or dict).
/// Self-containing containers print `...` past a nesting depth instead of
/// recursing forever.
pub fn write_py_repr(f: &mut fmt::Formatter<'_>, v: &Value) -> fmt::Result {
    let depth = REPR_DEPTH.with(|d| d.get());
    if depth > 200 {
        return f.write_str("...");
    }
    REPR_DEPTH.with(|d| d.set(depth + 1));
    let rv = write_py_repr_inner(f, v);
    REPR_DEPTH.with(|d| d.set(depth));
    rv
}

fn write_py_repr_inner(f: &mut fmt::Formatter<'_>, v: &Value) -> fmt::Result {
    match v.0 {
        ValueRepr::String(..) | ValueRepr::SmallStr(_) => {
            f.write_str(&py_str_repr(v.as_str().unwrap_or_default()))
        }
        ValueRepr::Bytes(ref b) => {
            f.write_str("b")?;
            f.write_str(&py_str_repr(&String::from_utf8_lossy(b)))
        }
        ValueRepr::Undefined(_) => f.write_str("Undefined"),
        _ => match v.kind() {
            ValueKind::Seq | ValueKind::Map => fmt::Display::fmt(v, f),
            ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter().map(|i| i.collect()).unwrap_or_default();
                write_seq_repr(f, &items)
            }
            _ => fmt::Display::fmt(v, f),
        },
    }
}

/// An immutable Python tuple (`(a, b)` literals, `dict.items()` pairs,
/// regex groups): a sequence printed with parentheses, and the only
/// sequence `str % args` unpacks.
#[derive(Debug, Default)]
pub struct Tuple(pub Vec<Value>);

impl Tuple {
    /// A new tuple value.
    pub fn new_value(items: Vec<Value>) -> Value {
        Value::from(ValueRepr::Object(crate::value::DynObject::new(Arc::new(Tuple(items)))))
    }
}

impl Object for Tuple {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let idx = key.as_i64()?;
        let idx = if idx < 0 { self.0.len() as i64 + idx } else { idx };
        self.0.get(usize::try_from(idx).ok()?).cloned()
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.clone())
    }
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_py_repr(f, v)?;
        }
        if self.0.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")
    }
}

thread_local! {
    static LAST_UNDEFINED: std::cell::RefCell<Option<(Value, Value, bool)>> =
        const { std::cell::RefCell::new(None) };
}

/// Jinja2's undefined values remember where they came from ("'dict object'
/// has no attribute 'x'") and report that when used later (after a `set`,
/// through a macro argument, from an inline if). minijinja's do not, so the
/// VM notes the last failed attribute/item lookup on a defined value:
/// `(parent, key, is_attribute)`.
pub(crate) fn note_undefined(parent: &Value, key: Value, attr: bool) {
    LAST_UNDEFINED.with(|l| *l.borrow_mut() = Some((parent.clone(), key, attr)));
}

/// The last failed lookup noted by the VM on this thread (and forget it).
pub fn take_last_undefined() -> Option<(Value, Value, bool)> {
    LAST_UNDEFINED.with(|l| l.borrow_mut().take())
}
