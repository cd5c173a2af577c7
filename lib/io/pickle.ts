/**
 * A restricted unpickler: it reads the data-only part of Python's pickle format (protocols 2 to
 * 5, which is what torch.save writes) and nothing that could run code.
 *
 * A pickle is a program for a small stack machine; the dangerous instructions are the ones that
 * name a Python callable (GLOBAL, STACK_GLOBAL, EXT1/2/4) and the ones that call or instantiate
 * it (REDUCE, INST, OBJ, NEWOBJ, BUILD). Here a global must be on the caller's allow-list, and
 * "calling" one runs the caller's plain JavaScript function for it, which builds a value
 * (a Map for collections.OrderedDict, a tensor description for torch's rebuild functions).
 * Nothing from the pickle is ever evaluated. Everything else is an error naming the opcode or
 * global and its byte offset: INST, OBJ, NEWOBJ(_EX) and the extension registry; the text
 * opcodes of protocols 0 and 1; sets and out-of-band buffers (no state_dict holds them); and
 * unknown opcodes.
 *
 * Memory stays bounded: lengths are checked against the bytes that remain before anything is
 * sliced (strings and bytes are views or decoded copies of the input), no value is ever copied,
 * only referenced, and the stack, the memo and the number of objects made have caps (see
 * {@link PICKLE_LIMITS}), because a one-byte opcode can make an object: a few kilobytes of
 * deflated pickle could otherwise ask for gigabytes. The caps are far above what a state_dict
 * needs (about ten objects per tensor; Python's pickler pushes at most 1000 items before it
 * pops them).
 * @module
 */

/** A pickle that is malformed, truncated, or asks for something not allowed. */
export class PickleError extends Error {
  override readonly name = 'PickleError';
}

/** A reference to an allowed Python global (a class or function), as GLOBAL pushes it. */
export class PickleGlobal {
  constructor(
    /** The module, e.g. 'collections'. */
    readonly module: string,
    /** The name within the module, e.g. 'OrderedDict'. */
    readonly name: string,
  ) {}

  /** 'module.name', as Python writes it. */
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * What unpickling yields: None is null, bool a boolean, int a number (a bigint beyond 2^53),
 * float a number, str a string, bytes a Uint8Array, list an array, tuple a frozen array, dict a
 * Map, an allowed global a {@link PickleGlobal}, and whatever the allow-list's builders return.
 */
export type PickleValue =
  null | boolean | number | bigint | string | Uint8Array | PickleValue[] | Map<PickleValue, PickleValue> | PickleGlobal | object;

/** What a pickle may use. */
export interface PickleRules {
  /**
   * Allowed globals by 'module.name'. A function is what REDUCE with that global builds from the
   * argument tuple (it may throw a PickleError); null allows the global only as a value (e.g. a
   * storage class named inside a persistent id).
   */
  globals: ReadonlyMap<string, ((args: readonly PickleValue[]) => PickleValue) | null>;
  /** Resolves a persistent id (BINPERSID); without it, persistent ids are errors. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
}

const NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Why each known but refused opcode is refused. */
const REFUSED: Record<string, string> = {
  INST: 'it instantiates an arbitrary class',
  OBJ: 'it instantiates an arbitrary class',
  NEWOBJ: 'it instantiates an arbitrary class',
  NEWOBJ_EX: 'it instantiates an arbitrary class',
  EXT1: 'it names a global through the extension registry',
  EXT2: 'it names a global through the extension registry',
  EXT4: 'it names a global through the extension registry',
  PERSID: 'torch.save writes binary persistent ids (BINPERSID)',
  EMPTY_SET: 'a state_dict holds no sets',
  ADDITEMS: 'a state_dict holds no sets',
  FROZENSET: 'a state_dict holds no sets',
  BYTEARRAY8: 'a state_dict holds no bytearrays',
  NEXT_BUFFER: 'out-of-band buffers are not supported',
  READONLY_BUFFER: 'out-of-band buffers are not supported',
};

/** The caps {@link unpickle} enforces. */
export const PICKLE_LIMITS = Object.freeze({
  /** Values on the stack at once. */
  stack: 1 << 20,
  /** Memo entries. */
  memo: 1 << 21,
  /** Objects made: containers, strings, bytes, big integers and the allow-list's results. */
  objects: 1 << 21,
});

const MARK = Symbol('mark');
const LONG4_MAX_BYTES = 1024;

/** A short description of a value's Python type, for messages. */
export function pickleTypeName(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof PickleGlobal) return `global ${v.toString()}`;
  return (v as object).constructor?.name ?? 'object';
}

/**
 * Unpickles the pickle that starts at byte `start` of `bytes` under `rules`; returns the value and
 * the offset just past its STOP (torch's legacy format puts several pickles in a row). Throws a
 * {@link PickleError} naming the opcode, global or problem and its byte offset.
 */
export function unpickle(bytes: Uint8Array, rules: PickleRules, start = 0): { value: PickleValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: (PickleValue | typeof MARK)[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = start;
  let at = start; // the current opcode's offset, for messages

  const fail = (why: string): never => {
    throw new PickleError(`${why} (pickle byte ${at})`);
  };
  let objects = 0;
  /** Pushes a value; `made` counts it against the object cap. */
  const push = (v: PickleValue | typeof MARK, made = false) => {
    if (stack.length >= PICKLE_LIMITS.stack)
      fail(`holds more than ${PICKLE_LIMITS.stack} values on the stack; a state_dict needs far fewer`);
    if (made && ++objects > PICKLE_LIMITS.objects) fail(`makes more than ${PICKLE_LIMITS.objects} objects; a state_dict needs far fewer`);
    stack.push(v);
  };
  const remember = (index: number, v: PickleValue) => {
    if (!memo.has(index) && memo.size >= PICKLE_LIMITS.memo)
      fail(`stores more than ${PICKLE_LIMITS.memo} memo entries; a state_dict needs far fewer`);
    memo.set(index, v);
  };
  const need = (n: number) => {
    if (n > bytes.byteLength - pos) fail(`needs ${n} more bytes but only ${bytes.byteLength - pos} remain: truncated or damaged`);
  };
  const u8 = () => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    // Larger than the input means truncated anyway; keep it a number that `need` rejects.
    return v > BigInt(bytes.byteLength) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const take = (n: number) => {
    need(n);
    const v = bytes.subarray(pos, pos + n);
    pos += n;
    return v;
  };
  const line = () => {
    // Module and attribute names are short: look for the newline in the next 1 KiB only.
    const found = bytes.subarray(pos, pos + 1025).indexOf(0x0a);
    if (found < 0) fail('has an unterminated or overlong name');
    const end = pos + found;
    const text = Buffer.from(bytes.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return text;
  };
  const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) fail('pops an empty stack');
    if (v === MARK) fail('pops a MARK as a value');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('needs a value on the stack');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    let i = stack.length - 1;
    while (i >= 0 && stack[i] !== MARK) i--;
    if (i < 0) fail('has no MARK to pop to');
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const tuple = (items: PickleValue[]) => Object.freeze(items) as PickleValue[];
  const integer = (v: bigint): number | bigint =>
    v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  const long = (b: Uint8Array): number | bigint => {
    // Little-endian two's complement, as pickle's LONG1/LONG4 store it.
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return integer(v);
  };
  const global = (module: string, name: string): PickleGlobal => {
    const key = `${module}.${name}`;
    if (!rules.globals.has(key)) {
      fail(`uses the global ${key}, which is not allowed`);
    }
    return new PickleGlobal(module, name);
  };
  const list = (v: PickleValue, op: string): PickleValue[] => {
    if (!Array.isArray(v) || Object.isFrozen(v)) fail(`${op} needs a list, got ${pickleTypeName(v)}`);
    return v as PickleValue[];
  };
  const dict = (v: PickleValue, op: string): Map<PickleValue, PickleValue> => {
    if (!(v instanceof Map)) fail(`${op} needs a dict, got ${pickleTypeName(v)}`);
    return v as Map<PickleValue, PickleValue>;
  };
  const setItems = (target: Map<PickleValue, PickleValue>, items: PickleValue[]) => {
    if (items.length % 2) fail('has an odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
  };

  for (;;) {
    at = pos;
    const op = u8();
    switch (op) {
      case 0x80: {
        // PROTO
        const protocol = u8();
        if (protocol < 2 || protocol > 5) fail(`is pickle protocol ${protocol}; protocols 2 to 5 are read`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: {
        // STOP
        const value = pop();
        if (stack.length !== 0) fail(`stops with ${stack.length} values left on the stack`);
        return { value, end: pos };
      }
      case 0x28: // MARK
        push(MARK);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) fail('pops an empty stack');
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        need(4);
        push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(take(u8())), true);
        break;
      case 0x8b: {
        // LONG4
        const n = u32();
        if (n > LONG4_MAX_BYTES) fail(`has a ${n}-byte integer`);
        push(long(take(n)), true);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        push(utf8(take(u32())), true);
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8(take(u8())), true);
        break;
      case 0x8d: // BINUNICODE8
        push(utf8(take(u64())), true);
        break;
      case 0x54: // BINSTRING (Python 2 str)
        push(Buffer.from(take(u32())).toString('latin1'), true);
        break;
      case 0x55: // SHORT_BINSTRING
        push(Buffer.from(take(u8())).toString('latin1'), true);
        break;
      case 0x42: // BINBYTES
        push(take(u32()), true);
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()), true);
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()), true);
        break;
      case 0x29: // EMPTY_TUPLE
        push(tuple([]), true);
        break;
      case 0x74: // TUPLE
        push(tuple(popMark()), true);
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]), true);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(tuple([pop(), b]), true);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]), true);
        break;
      }
      case 0x5d: // EMPTY_LIST
        push([], true);
        break;
      case 0x6c: // LIST
        push(popMark(), true);
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        list(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const target = list(top(), 'APPENDS');
        for (const item of items) target.push(item);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new Map(), true);
        break;
      case 0x64: {
        // DICT
        const d = new Map<PickleValue, PickleValue>();
        setItems(d, popMark());
        push(d, true);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        dict(top(), 'SETITEM').set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(dict(top(), 'SETITEMS'), items);
        break;
      }
      case 0x71: // BINPUT
        remember(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        remember(u32(), top());
        break;
      case 0x94: // MEMOIZE
        remember(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const index = op === 0x68 ? u8() : u32();
        if (!memo.has(index)) fail(`gets memo entry ${index}, which was never stored`);
        push(memo.get(index)!);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        push(global(module, line()), true);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string), true);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal)) fail(`REDUCE calls a ${pickleTypeName(callable)}; only allowed globals can be called`);
        if (!Array.isArray(args) || !Object.isFrozen(args)) fail(`REDUCE needs an argument tuple, got ${pickleTypeName(args)}`);
        const build = rules.globals.get((callable as PickleGlobal).toString());
        if (!build) fail(`REDUCE calls ${(callable as PickleGlobal).toString()}, which may appear only as a value`);
        try {
          push(build!(args as PickleValue[]), true);
        } catch (error) {
          if (error instanceof PickleError) fail(`${(callable as PickleGlobal).toString()}: ${error.message}`);
          throw error;
        }
        break;
      }
      case 0x62: {
        // BUILD
        // Only an instance __dict__ on a dict is accepted (a state_dict's _metadata); it is dropped.
        const state = pop();
        const target = top();
        if (!(target instanceof Map) || !(state instanceof Map)) {
          fail(
            `BUILD sets the state of a ${pickleTypeName(target)} from a ${pickleTypeName(state)}; only a dict's attributes are accepted`,
          );
        }
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!rules.persistentLoad) fail('has a persistent id, which is not allowed here');
        try {
          push(rules.persistentLoad!(pid), true);
        } catch (error) {
          if (error instanceof PickleError) fail(`persistent id: ${error.message}`);
          throw error;
        }
        break;
      }
      default: {
        const name = NAMES[op];
        if (name === undefined) fail(`has unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
        fail(`has opcode ${name}, which is not allowed: ${REFUSED[name!] ?? 'torch.save (protocol 2 and later) never writes it'}`);
      }
    }
  }
}
