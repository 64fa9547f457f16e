import { describe, expect, it } from 'vitest';
import { evaluate, MAX_DEPTH, MAX_EXPRESSION_CHARS } from './calculator';
import { ToolError } from './types';

const fails = (expr: string) => {
  try {
    evaluate(expr);
  } catch (err) {
    expect(err).toBeInstanceOf(ToolError);
    return (err as Error).message;
  }
  throw new Error(`${expr} evaluated`);
};

describe('calculator', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['2 ^ 3 ^ 2', 512],
    ['2 ** 10', 1024],
    ['-2 ^ 2', -4],
    ['(-2) ^ 2', 4],
    ['2 ^ -1', 0.5],
    ['- -3', 3],
    ['7 % 4 * 2', 6],
    ['100 / 8 / 5', 2.5],
    ['0.1 + 0.2', 0.3],
    ['.5 + 1e3', 1000.5],
    ['sqrt(16) + abs(-3)', 7],
    ['max(1, 5, 3) - min(4, 2)', 3],
    ['round(2.345, 2)', 2.35],
    ['round(pi, 4)', 3.1416],
    ['ln(e)', 1],
    ['log(1000)', 3],
    ['SQRT(9)', 3],
    ['-0 * 5', 0],
  ])('%s = %s', (expr, value) => {
    expect(evaluate(expr)).toBe(value);
  });

  it.each([
    ['1 / 0', 'Division by zero'],
    ['5 % (2 - 2)', 'Modulo by zero'],
    ['sqrt(-1)', 'not a number'],
    ['10 ^ 400', 'too large'],
    ['1 +', 'ends too early'],
    ['(1 + 2', "Expected ')'"],
    ['1 2', "Unexpected '2'"],
    ['', 'empty'],
    ['2 $ 3', "Unexpected character '$'"],
    ['min()', "Unexpected ')'"],
    ['sqrt(1, 2)', 'takes 1 argument'],
    ['foo(1)', "Unknown function 'foo'"],
    ['x + 1', "Unknown name 'x'"],
  ])('%s is refused (%s)', (expr, message) => {
    expect(fails(expr)).toContain(message);
  });

  it('knows no JavaScript: prototype names and globals are unknown names, not lookups', () => {
    for (const name of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'process',
      'globalThis',
      'this',
    ]) {
      expect(fails(`${name}`)).toContain(`Unknown name '${name}'`);
      expect(fails(`${name}(1)`)).toContain(`Unknown function '${name}'`);
    }
    expect(fails('constructor.constructor("return process")()')).toMatch(/Unexpected|Unknown/);
    expect(fails('"1" + 1')).toContain('Unexpected character');
    expect(fails('[1] + 1')).toContain('Unexpected character');
  });

  it('bounds length and nesting', () => {
    expect(fails('1+'.repeat(MAX_EXPRESSION_CHARS) + '1')).toContain(`longer than ${MAX_EXPRESSION_CHARS}`);
    const deep = `${'('.repeat(MAX_DEPTH)}1${')'.repeat(MAX_DEPTH)}`;
    expect(fails(deep)).toContain('nested deeper');
    expect(fails(`${'-'.repeat(MAX_DEPTH + 1)}1`)).toContain('nested deeper');
    const shallow = `${'('.repeat(5)}1${')'.repeat(5)}`;
    expect(evaluate(shallow)).toBe(1);
  });
});
