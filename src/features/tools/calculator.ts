import { z } from 'zod';
import { defineTool, ToolError } from './types';

// An arithmetic evaluator written as a recursive-descent parser: no eval, no Function, no property
// lookups on JavaScript objects. Names resolve only through the two tables below (own keys of frozen
// null-prototype objects), so `constructor`, `__proto__` or `process` are unknown names, not a way out.
//
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/' | '%') unary)*
//   unary   := ('-' | '+') unary | power
//   power   := primary (('^' | '**') unary)?        right-associative; -2^2 = -(2^2)
//   primary := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'

export const MAX_EXPRESSION_CHARS = 500;
export const MAX_DEPTH = 40;

type Fn = { arity: [number, number]; apply: (...xs: number[]) => number };

const table = <T>(entries: Record<string, T>): Readonly<Record<string, T>> =>
  Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));

const CONSTANTS = table<number>({ pi: Math.PI, e: Math.E, tau: 2 * Math.PI });

const VARIADIC: [number, number] = [1, 50];
const FUNCTIONS = table<Fn>({
  sqrt: { arity: [1, 1], apply: Math.sqrt },
  cbrt: { arity: [1, 1], apply: Math.cbrt },
  abs: { arity: [1, 1], apply: Math.abs },
  round: {
    arity: [1, 2],
    apply: (x, digits = 0) => {
      if (!Number.isInteger(digits) || digits < 0 || digits > 15) throw new ToolError('round: digits must be 0 to 15');
      const f = 10 ** digits;
      return Math.round(x * f) / f;
    },
  },
  floor: { arity: [1, 1], apply: Math.floor },
  ceil: { arity: [1, 1], apply: Math.ceil },
  min: { arity: VARIADIC, apply: Math.min },
  max: { arity: VARIADIC, apply: Math.max },
  exp: { arity: [1, 1], apply: Math.exp },
  ln: { arity: [1, 1], apply: Math.log },
  log: { arity: [1, 1], apply: Math.log10 },
  log2: { arity: [1, 1], apply: Math.log2 },
  sin: { arity: [1, 1], apply: Math.sin },
  cos: { arity: [1, 1], apply: Math.cos },
  tan: { arity: [1, 1], apply: Math.tan },
});

const has = (t: Readonly<Record<string, unknown>>, name: string) => Object.prototype.hasOwnProperty.call(t, name);

type Token =
  | { kind: 'num'; value: number; at: number }
  | { kind: 'name'; value: string; at: number }
  | { kind: 'op'; value: string; at: number };

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const num = NUMBER.exec(rest);
    if (num) {
      tokens.push({ kind: 'num', value: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      tokens.push({ kind: 'name', value: name[0], at: i });
      i += name[0].length;
      continue;
    }
    if (rest.startsWith('**')) {
      tokens.push({ kind: 'op', value: '^', at: i });
      i += 2;
      continue;
    }
    if ('+-*/%^(),'.includes(ch)) {
      tokens.push({ kind: 'op', value: ch, at: i });
      i++;
      continue;
    }
    throw new ToolError(`Unexpected character '${ch}' at position ${i + 1}`);
  }
  return tokens;
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    const value = this.expr();
    const extra = this.tokens[this.pos];
    if (extra) throw new ToolError(`Unexpected '${String(extra.value)}' at position ${extra.at + 1}`);
    return value;
  }

  private peekOp(...ops: string[]): string | undefined {
    const t = this.tokens[this.pos];
    return t?.kind === 'op' && ops.includes(t.value) ? t.value : undefined;
  }

  private expect(op: string): void {
    if (!this.peekOp(op)) {
      const t = this.tokens[this.pos];
      throw new ToolError(t ? `Expected '${op}' at position ${t.at + 1}` : `Expected '${op}' at the end`);
    }
    this.pos++;
  }

  // Every rule that can recurse passes through here, so nesting is bounded whatever the input.
  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ToolError(`Expression nested deeper than ${MAX_DEPTH} levels`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private expr(): number {
    return this.nested(() => {
      let value = this.term();
      for (let op = this.peekOp('+', '-'); op; op = this.peekOp('+', '-')) {
        this.pos++;
        const right = this.term();
        value = op === '+' ? value + right : value - right;
      }
      return value;
    });
  }

  private term(): number {
    let value = this.unary();
    for (let op = this.peekOp('*', '/', '%'); op; op = this.peekOp('*', '/', '%')) {
      this.pos++;
      const right = this.unary();
      if (op === '*') value *= right;
      else if (right === 0) throw new ToolError(op === '/' ? 'Division by zero' : 'Modulo by zero');
      else value = op === '/' ? value / right : value % right;
    }
    return value;
  }

  private unary(): number {
    return this.nested(() => {
      const op = this.peekOp('-', '+');
      if (op) {
        this.pos++;
        const v = this.unary();
        return op === '-' ? -v : v;
      }
      return this.power();
    });
  }

  private power(): number {
    const base = this.primary();
    if (!this.peekOp('^')) return base;
    this.pos++;
    return base ** this.unary();
  }

  private primary(): number {
    const t = this.tokens[this.pos];
    if (!t) throw new ToolError('The expression ends too early');
    this.pos++;
    if (t.kind === 'num') return t.value;
    if (t.kind === 'op') {
      if (t.value !== '(') throw new ToolError(`Unexpected '${t.value}' at position ${t.at + 1}`);
      const v = this.expr();
      this.expect(')');
      return v;
    }
    const name = t.value.toLowerCase();
    if (this.peekOp('(')) {
      if (!has(FUNCTIONS, name)) throw new ToolError(`Unknown function '${t.value}'`);
      const fn = FUNCTIONS[name] as Fn;
      this.pos++;
      const args = [this.expr()];
      while (this.peekOp(',')) {
        this.pos++;
        args.push(this.expr());
      }
      this.expect(')');
      const [least, most] = fn.arity;
      if (args.length < least || args.length > most) {
        throw new ToolError(
          `${name} takes ${least === most ? least : `${least} to ${most}`} argument${most === 1 ? '' : 's'}`,
        );
      }
      return fn.apply(...args);
    }
    if (has(CONSTANTS, name)) return CONSTANTS[name] as number;
    throw new ToolError(`Unknown name '${t.value}'`);
  }
}

// The value of `expression`, or a ToolError saying what is wrong with it. Float noise is trimmed to
// 15 significant digits (0.1 + 0.2 = 0.3).
export function evaluate(expression: string): number {
  if (expression.length > MAX_EXPRESSION_CHARS) {
    throw new ToolError(`The expression is longer than ${MAX_EXPRESSION_CHARS} characters`);
  }
  const tokens = tokenize(expression);
  if (tokens.length === 0) throw new ToolError('The expression is empty');
  const value = new Parser(tokens).parse();
  if (Number.isNaN(value)) throw new ToolError('The result is not a number (e.g. the square root of a negative)');
  if (!Number.isFinite(value)) throw new ToolError('The result is too large');
  const trimmed = Number(value.toPrecision(15));
  return Object.is(trimmed, -0) ? 0 : trimmed;
}

export const calculator = defineTool({
  name: 'calculator',
  description:
    'Evaluates an arithmetic expression exactly as written: + - * / % ^ (power), parentheses, unary minus, ' +
    'functions sqrt cbrt abs round(x[,digits]) floor ceil min max exp ln log (base 10) log2 sin cos tan, ' +
    'constants pi e tau.',
  parameters: {
    type: 'object',
    properties: {
      expression: { type: 'string', description: 'e.g. (2 + 3) * 4 ^ 2 / sqrt(16)', maxLength: MAX_EXPRESSION_CHARS },
    },
    required: ['expression'],
    additionalProperties: false,
  },
  args: z.object({ expression: z.string().min(1).max(MAX_EXPRESSION_CHARS) }),
  enabled: () => true,
  run: ({ expression }) => Promise.resolve({ expression, result: evaluate(expression) }),
});
