//! A Python pickle reader that never runs anything: it rebuilds the data of a pickle (numbers,
//! strings, tuples, lists, dicts) and records every class or function the pickle names as an
//! inert [`Value::Object`], so a hostile file can at worst be refused, never execute code
//! (Python's `pickle.load` and `torch.load(weights_only=False)` call whatever the file names).
//!
//! Covers the opcodes of protocols 2 to 5, which `torch.save` (protocol 2) and `pickle.dump`
//! (protocols 3–5) write; the text opcodes of protocol 0 are refused by name. Opcode meanings
//! follow the documented format of CPython's `pickletools`.

use std::cell::RefCell;
use std::rc::Rc;

/// One Python value as the pickle describes it.
#[derive(Debug, Clone)]
pub enum Value {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int` that fits in 64 bits (larger ones are refused).
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `str` (or a Python 2 `str`, read as Latin-1).
    Str(String),
    /// A `bytes` or `bytearray`.
    Bytes(Vec<u8>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `list`, shared like a Python object so later appends show through every reference.
    List(Rc<RefCell<Vec<Value>>>),
    /// A `dict` (or `collections.OrderedDict`), in insertion order.
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    /// A `set` or `frozenset`.
    Set(Vec<Value>),
    /// A class or function the pickle names (`GLOBAL`), not imported.
    Global {
        /// The module, e.g. `torch._utils`.
        module: String,
        /// The attribute, e.g. `_rebuild_tensor_v2`.
        name: String,
    },
    /// What calling a [`Value::Global`] would have built, not built: the callable, its
    /// arguments and the state `BUILD` would have set.
    Object(Rc<RefCell<Object>>),
    /// An opaque handle the reader's [`Hooks`] made (a tensor storage, a tensor):
    /// an index into the hooks' own table.
    Handle(usize),
}

/// A call the pickle asks for, recorded instead of made.
#[derive(Debug, Clone)]
pub struct Object {
    /// The callable (`REDUCE`) or class (`NEWOBJ`), normally a [`Value::Global`].
    pub callable: Value,
    /// Its positional arguments.
    pub args: Vec<Value>,
    /// The state of a `BUILD`, if any (usually the object's `__dict__`).
    pub state: Option<Value>,
}

impl Value {
    /// The string, if this is a `str`.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an `int` (or a `bool`, as Python counts it).
    #[must_use]
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The number as a float, if this is a `float`, `int` or `bool`.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            other => other.as_int().map(|i| i as f64),
        }
    }

    /// The truth value, if this is a `bool` (or an `int` 0/1).
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            Self::Int(0) => Some(false),
            Self::Int(1) => Some(true),
            _ => None,
        }
    }

    /// The items, if this is a `tuple` or a `list`.
    #[must_use]
    pub fn as_sequence(&self) -> Option<Vec<Value>> {
        match self {
            Self::Tuple(items) => Some(items.clone()),
            Self::List(items) => Some(items.borrow().clone()),
            _ => None,
        }
    }

    /// The entry under the string key `key`, if this is a dict that has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Value> {
        match self {
            Self::Dict(items) => items.borrow().iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.clone()),
            _ => None,
        }
    }

    /// `module.name` of a global, or of the callable of an object.
    #[must_use]
    pub fn class_name(&self) -> Option<String> {
        match self {
            Self::Global { module, name } => Some(format!("{module}.{name}")),
            Self::Object(object) => object.borrow().callable.class_name(),
            _ => None,
        }
    }

    /// A short description for error messages: the Python type, e.g. `dict`, `int`.
    #[must_use]
    pub fn type_name(&self) -> String {
        match self {
            Self::None => "None".into(),
            Self::Bool(_) => "bool".into(),
            Self::Int(_) => "int".into(),
            Self::Float(_) => "float".into(),
            Self::Str(_) => "str".into(),
            Self::Bytes(_) => "bytes".into(),
            Self::Tuple(_) => "tuple".into(),
            Self::List(_) => "list".into(),
            Self::Dict(_) => "dict".into(),
            Self::Set(_) => "set".into(),
            Self::Global { module, name } => format!("the global {module}.{name}"),
            Self::Object(_) => format!("a {} object", self.class_name().unwrap_or_default()),
            Self::Handle(_) => "a tensor or storage".into(),
        }
    }
}

/// What a reader does with the calls and persistent ids of a pickle: turn the ones it knows
/// into data (a tensor, an ordered dict); everything else stays a [`Value::Object`].
pub trait Hooks {
    /// The value of a persistent id (`BINPERSID`), e.g. a tensor storage.
    fn load(&mut self, id: Value) -> Result<Value, String>;
    /// The value of calling `callable` with `args`, or `None` to keep the call as an object.
    fn call(&mut self, callable: &Value, args: &[Value]) -> Result<Option<Value>, String>;
}

/// Reads one pickle from `data` (up to its `STOP`).
pub fn read(data: &[u8], hooks: &mut dyn Hooks) -> Result<Value, String> {
    Machine { data, at: 0, stack: Vec::new(), marks: Vec::new(), memo: Vec::new(), hooks }.run()
}

/// The pickle virtual machine: a stack, the mark positions and the memo.
struct Machine<'a> {
    data: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
    hooks: &'a mut dyn Hooks,
}

impl Machine<'_> {
    fn run(mut self) -> Result<Value, String> {
        loop {
            let offset = self.at;
            let op = self.take(1)?[0];
            self.step(op).map_err(|e| format!("pickle opcode 0x{op:02x} at byte {offset}: {e}"))?;
            if op == b'.' {
                return self.pop();
            }
        }
    }

    /// Executes one opcode: framing and stack manipulation here, the rest by kind.
    fn step(&mut self, op: u8) -> Result<(), String> {
        match op {
            0x80 => {
                let protocol = self.take(1)?[0];
                if protocol > 5 {
                    return Err(format!("pickle protocol {protocol} is newer than 5"));
                }
            }
            0x95 => {
                self.take(8)?;
            }
            b'.' => {}
            b'(' => self.marks.push(self.stack.len()),
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?.clone();
                self.stack.push(top);
            }
            _ => self.scalar(op)?,
        }
        Ok(())
    }

    /// Opcodes that push a scalar: `None`, booleans, ints, floats, strings, bytes.
    fn scalar(&mut self, op: u8) -> Result<(), String> {
        match op {
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool(true)),
            0x89 => self.stack.push(Value::Bool(false)),
            b'J' => {
                let n = i32::from_le_bytes(self.array()?);
                self.stack.push(Value::Int(i64::from(n)));
            }
            b'K' => {
                let n = self.take(1)?[0];
                self.stack.push(Value::Int(i64::from(n)));
            }
            b'M' => {
                let n = u16::from_le_bytes(self.array()?);
                self.stack.push(Value::Int(i64::from(n)));
            }
            0x8a => {
                let len = usize::from(self.take(1)?[0]);
                let value = long(self.take(len)?)?;
                self.stack.push(value);
            }
            0x8b => {
                let len = self.length4()?;
                let value = long(self.take(len)?)?;
                self.stack.push(value);
            }
            b'G' => {
                let f = f64::from_be_bytes(self.array()?);
                self.stack.push(Value::Float(f));
            }
            b'X' => {
                let len = self.length4()?;
                self.push_str(len)?;
            }
            0x8c => {
                let len = usize::from(self.take(1)?[0]);
                self.push_str(len)?;
            }
            0x8d => {
                let len = self.length8()?;
                self.push_str(len)?;
            }
            b'T' | b'U' => {
                let len = if op == b'T' { self.length4()? } else { usize::from(self.take(1)?[0]) };
                let text = self.take(len)?.iter().map(|&b| char::from(b)).collect();
                self.stack.push(Value::Str(text));
            }
            b'B' | b'C' | 0x8e | 0x96 => {
                let len = match op {
                    b'B' => self.length4()?,
                    b'C' => usize::from(self.take(1)?[0]),
                    _ => self.length8()?,
                };
                let bytes = self.take(len)?.to_vec();
                self.stack.push(Value::Bytes(bytes));
            }
            _ => self.container(op)?,
        }
        Ok(())
    }

    /// Opcodes that build containers: tuples, lists, dicts, sets.
    fn container(&mut self, op: u8) -> Result<(), String> {
        match op {
            b')' => self.stack.push(Value::Tuple(Vec::new())),
            b't' => {
                let items = self.pop_mark()?;
                self.stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let items = self.pop_n(n)?;
                self.stack.push(Value::Tuple(items));
            }
            b']' => self.stack.push(Value::List(Rc::default())),
            b'l' => {
                let items = self.pop_mark()?;
                self.stack.push(Value::List(Rc::new(RefCell::new(items))));
            }
            b'a' => {
                let item = self.pop()?;
                self.append(vec![item])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.append(items)?;
            }
            b'}' => self.stack.push(Value::Dict(Rc::default())),
            b'd' => {
                let items = pairs(self.pop_mark()?)?;
                self.stack.push(Value::Dict(Rc::new(RefCell::new(items))));
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![(key, value)])?;
            }
            b'u' => {
                let items = pairs(self.pop_mark()?)?;
                self.set_items(items)?;
            }
            0x8f => self.stack.push(Value::Set(Vec::new())),
            0x90 => {
                let items = self.pop_mark()?;
                match self.stack.last_mut() {
                    Some(Value::Set(set)) => set.extend(items),
                    _ => return Err("ADDITEMS without a set below the mark".into()),
                }
            }
            0x91 => {
                let items = self.pop_mark()?;
                self.stack.push(Value::Set(items));
            }
            _ => self.reference(op)?,
        }
        Ok(())
    }

    /// Opcodes that name globals, call them, resolve persistent ids and use the memo.
    fn reference(&mut self, op: u8) -> Result<(), String> {
        match op {
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.stack.push(Value::Global { module, name });
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (module, name) {
                    (Value::Str(module), Value::Str(name)) => self.stack.push(Value::Global { module, name }),
                    _ => return Err("STACK_GLOBAL needs two strings".into()),
                }
            }
            b'R' => {
                let args = self.pop()?.as_sequence().ok_or("REDUCE arguments are not a tuple")?;
                let callable = self.pop()?;
                let value = self.call(callable, args)?;
                self.stack.push(value);
            }
            0x81 => {
                let args = self.pop()?.as_sequence().ok_or("NEWOBJ arguments are not a tuple")?;
                let class = self.pop()?;
                let value = self.call(class, args)?;
                self.stack.push(value);
            }
            0x92 => {
                let _kwargs = self.pop()?;
                let args = self.pop()?.as_sequence().ok_or("NEWOBJ_EX arguments are not a tuple")?;
                let class = self.pop()?;
                let value = self.call(class, args)?;
                self.stack.push(value);
            }
            b'b' => {
                let state = self.pop()?;
                match self.top()? {
                    Value::Object(object) => object.borrow_mut().state = Some(state),
                    // An OrderedDict's attributes (a state_dict's `_metadata`) are not data.
                    Value::Dict(_) => {}
                    other => return Err(format!("BUILD on {}", other.type_name())),
                }
            }
            b'Q' => {
                let id = self.pop()?;
                let value = self.hooks.load(id)?;
                self.stack.push(value);
            }
            b'q' => {
                let index = usize::from(self.take(1)?[0]);
                self.put(index)?;
            }
            b'r' => {
                let index = self.length4()?;
                self.put(index)?;
            }
            0x94 => {
                let index = self.memo.len();
                self.put(index)?;
            }
            b'h' => {
                let index = usize::from(self.take(1)?[0]);
                self.get(index)?;
            }
            b'j' => {
                let index = self.length4()?;
                self.get(index)?;
            }
            b'I' | b'L' | b'F' | b'S' | b'V' | b'p' | b'g' | b'P' | b'i' | b'o' => {
                return Err("a protocol 0 (text) opcode; re-save the file with pickle protocol 2 or newer".into());
            }
            other => return Err(format!("unknown opcode 0x{other:02x}")),
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.data.len()).ok_or_else(|| {
            format!("the pickle ends early: {n} more bytes needed at byte {}, {} in all", self.at, self.data.len())
        })?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn length4(&mut self) -> Result<usize, String> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn length8(&mut self) -> Result<usize, String> {
        usize::try_from(u64::from_le_bytes(self.array()?)).map_err(|e| e.to_string())
    }

    /// A newline-terminated ASCII line (the operands of `GLOBAL`).
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.at..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or("a GLOBAL name without its newline")?;
        let text = String::from_utf8(rest[..end].to_vec()).map_err(|e| e.to_string())?;
        self.at += end + 1;
        Ok(text)
    }

    fn push_str(&mut self, len: usize) -> Result<(), String> {
        let text = String::from_utf8(self.take(len)?.to_vec()).map_err(|e| format!("a str that is not UTF-8: {e}"))?;
        self.stack.push(Value::Str(text));
        Ok(())
    }

    fn pop(&mut self) -> Result<Value, String> {
        if self.marks.last().is_some_and(|&mark| mark >= self.stack.len()) {
            return Err("pop across a mark".into());
        }
        self.stack.pop().ok_or_else(|| "pop from an empty stack".into())
    }

    fn top(&self) -> Result<&Value, String> {
        self.stack.last().ok_or_else(|| "an empty stack".into())
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() < floor + n {
            return Err(format!("{n} items needed, {} on the stack", self.stack.len() - floor));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self.marks.pop().ok_or("no mark on the stack")?;
        Ok(self.stack.split_off(mark))
    }

    fn append(&mut self, items: Vec<Value>) -> Result<(), String> {
        match self.stack.last() {
            Some(Value::List(list)) => {
                list.borrow_mut().extend(items);
                Ok(())
            }
            Some(other) => Err(format!("APPEND to {}", other.type_name())),
            None => Err("APPEND on an empty stack".into()),
        }
    }

    fn set_items(&mut self, items: Vec<(Value, Value)>) -> Result<(), String> {
        match self.stack.last() {
            Some(Value::Dict(dict)) => {
                let mut dict = dict.borrow_mut();
                for (key, value) in items {
                    let existing = dict.iter().position(|(k, _)| same_key(k, &key));
                    match existing {
                        Some(i) => dict[i].1 = value,
                        None => dict.push((key, value)),
                    }
                }
                Ok(())
            }
            Some(other) => Err(format!("SETITEM on {}", other.type_name())),
            None => Err("SETITEM on an empty stack".into()),
        }
    }

    fn call(&mut self, callable: Value, args: Vec<Value>) -> Result<Value, String> {
        if let Some(value) = self.hooks.call(&callable, &args)? {
            return Ok(value);
        }
        Ok(Value::Object(Rc::new(RefCell::new(Object { callable, args, state: None }))))
    }

    fn put(&mut self, index: usize) -> Result<(), String> {
        let value = self.top()?.clone();
        if index > self.memo.len() + (1 << 20) {
            return Err(format!("memo index {index} far beyond the {} entries so far", self.memo.len()));
        }
        if index >= self.memo.len() {
            self.memo.resize(index + 1, None);
        }
        self.memo[index] = Some(value);
        Ok(())
    }

    fn get(&mut self, index: usize) -> Result<(), String> {
        let value =
            self.memo.get(index).cloned().flatten().ok_or_else(|| format!("memo entry {index} was never set"))?;
        self.stack.push(value);
        Ok(())
    }
}

/// Keys compare by value for the scalars a dict is keyed by (strings, numbers).
fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        _ => false,
    }
}

/// Alternating keys and values into pairs.
fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err(format!("{} items for a dict, not key–value pairs", items.len()));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        out.push((key, value));
    }
    Ok(out)
}

/// A little-endian two's-complement integer of `LONG1`/`LONG4`.
fn long(bytes: &[u8]) -> Result<Value, String> {
    if bytes.len() > 8 {
        return Err(format!("an int of {} bytes does not fit in 64 bits", bytes.len()));
    }
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    let mut buffer = [if negative { 0xff } else { 0 }; 8];
    buffer[..bytes.len()].copy_from_slice(bytes);
    Ok(Value::Int(i64::from_le_bytes(buffer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps every call as an object and refuses persistent ids.
    struct Inert;

    impl Hooks for Inert {
        fn load(&mut self, _id: Value) -> Result<Value, String> {
            Err("no persistent ids here".into())
        }
        fn call(&mut self, _callable: &Value, _args: &[Value]) -> Result<Option<Value>, String> {
            Ok(None)
        }
    }

    // The byte strings below are what CPython 3.11 writes; each was produced with
    // `pickle.dumps(value, protocol=P)` and is checked against the value it came from.

    #[test]
    fn reads_a_protocol_2_dict_of_numbers_strings_and_tuples() {
        // pickle.dumps({'step': 7, 'name': 'x', 'mults': (1, 4, 8), 'big': -70000, 'f': 0.5}, protocol=2)
        let data = b"\x80\x02}q\x00(X\x04\x00\x00\x00stepq\x01K\x07X\x04\x00\x00\x00nameq\x02X\x01\x00\x00\x00xq\x03X\x05\x00\x00\x00multsq\x04K\x01K\x04K\x08\x87q\x05X\x03\x00\x00\x00bigq\x06J\x90\xee\xfe\xffX\x01\x00\x00\x00fq\x07G?\xe0\x00\x00\x00\x00\x00\x00u.";
        let value = read(data, &mut Inert).expect("pickle");
        assert_eq!(value.get("step").and_then(|v| v.as_int()), Some(7));
        assert_eq!(value.get("name").and_then(|v| v.as_str().map(str::to_owned)), Some("x".into()));
        let mults: Vec<i64> = value
            .get("mults")
            .and_then(|v| v.as_sequence())
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_int)
            .collect();
        assert_eq!(mults, [1, 4, 8]);
        assert_eq!(value.get("big").and_then(|v| v.as_int()), Some(-70000));
        assert_eq!(value.get("f").and_then(|v| v.as_f64()), Some(0.5));
    }

    #[test]
    fn a_named_class_is_recorded_never_called() {
        // pickle.dumps(R(), protocol=2) for a class R whose __reduce__ returns (os.system, ('ls',)).
        let data = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.";
        let value = read(data, &mut Inert).expect("pickle");
        assert_eq!(value.class_name().as_deref(), Some("posix.system"));
        let Value::Object(object) = value else { panic!("expected an object, got {}", value.type_name()) };
        assert_eq!(object.borrow().args[0].as_str(), Some("ls"));
    }

    #[test]
    fn a_truncated_or_unknown_pickle_is_refused_with_the_byte_offset() {
        let truncated = read(b"\x80\x02X\x10\x00\x00\x00abc", &mut Inert).expect_err("truncated");
        assert!(truncated.contains("ends early"), "{truncated}");
        let unknown = read(b"\x80\x02\xff.", &mut Inert).expect_err("unknown");
        assert!(unknown.contains("0xff at byte 2"), "{unknown}");
        let text = read(b"I5\n.", &mut Inert).expect_err("protocol 0");
        assert!(text.contains("protocol 0"), "{text}");
    }
}
