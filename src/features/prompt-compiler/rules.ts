import { kindsIn } from './lexicon';
import type { Placeholder } from './placeholders';

// The rule-based compile: what the compiler can improve in a prompt without a model. It is the answer
// when the model proposes no change (the local provider's structured answer has no reasons), and the
// draft the model is shown otherwise. Every change comes with its reason.

export type ModelFamily = 'openai' | 'anthropic' | 'other';

export interface RuleCompile {
  compiled: string;
  reasons: string[];
}

/** Which prompt conventions suit a model: GPT models take Markdown sections, Claude XML-tagged ones. */
export function familyOf(model: string | undefined): ModelFamily {
  const spec = (model ?? '').toLowerCase();
  const bare = spec.slice(spec.indexOf(':') + 1);
  if (spec.startsWith('anthropic:') || bare.includes('claude')) return 'anthropic';
  if (spec.startsWith('openai:') || /^(gpt|o[0-9]|chatgpt)/.test(bare)) return 'openai';
  return 'other';
}

const ROLE = /^\s*(you are|you're|act as|as an? |imagine you are|pretend)/i;
const FORMAT =
  /\b(list|bullet(s|ed)?|table|json|csv|markdown|paragraphs?|numbered|steps|outline|format|words|sentences?|lines?|yaml|xml)\b/i;
const VAGUE = /\b(good|best|nice|great|some|interesting|cool|better|decent|proper|appropriate)\b/gi;
// An ask for several things ("find restaurants", "suggest names"): a list answers it best.
const PLURAL_ASK =
  /\b(find|list|suggest|recommend|give( me)?|show( me)?|name|search( for)?|compare|generate|brainstorm)\b[^.?!]*\b[a-z]{3,}s\b/i;
const QUESTION = /\?\s*$/;

function sentence(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  if (t === '') return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.?!:]$/.test(first) ? first : `${first}.`;
}

interface Section {
  title: string;
  tag: string;
  body: string;
}

function render(family: ModelFamily, role: string, sections: Section[]): string {
  const parts = [role];
  for (const s of sections) {
    if (family === 'anthropic') parts.push(`<${s.tag}>\n${s.body}\n</${s.tag}>`);
    else if (family === 'openai') parts.push(`### ${s.title}\n${s.body}`);
    else parts.push(`${s.title}:\n${s.body}`);
  }
  return parts.join('\n\n');
}

export function ruleCompile(prompt: string, model: string | undefined, placeholders: Placeholder[]): RuleCompile {
  const family = familyOf(model);
  const reasons: string[] = [];
  const original = prompt.trim();
  const multiLine = original.includes('\n');
  const task = multiLine ? original : sentence(original);
  if (!multiLine && task !== original) reasons.push('Wrote the task as one complete sentence.');

  let role = '';
  if (!ROLE.test(original)) {
    role = 'You are a knowledgeable, careful assistant.';
    reasons.push('Added a role: a model given one answers more consistently and in the right register.');
  }
  const sections: Section[] = [{ title: 'Task', tag: 'task', body: task }];

  if (placeholders.length > 0) {
    sections.push({
      title: 'Inputs',
      tag: 'inputs',
      body: placeholders.map((p) => `- ${p.name}: {{${p.name}}}`).join('\n'),
    });
    reasons.push(
      `Listed the inputs (${placeholders.map((p) => `{{${p.name}}}`).join(', ')}) in one place so the model sees every value it is given.`,
    );
  }

  const named = new Set(placeholders.map((p) => p.key));
  const open = kindsIn(original).filter((k) => !named.has(k.field.key));
  if (open.length > 0) {
    const titles = open.map((k) => k.field.title.toLowerCase());
    sections.push({
      title: 'Details to take into account',
      tag: 'details',
      body: [
        ...open.map((k) => `- ${k.field.title}: ${k.field.description}`),
        'If any of these is not given, state the assumption you make (or ask for it) before answering.',
      ].join('\n'),
    });
    reasons.push(
      `The prompt leaves ${titles.join(', ')} open: the model is told to state its assumptions about ${open.length === 1 ? 'it' : 'them'} instead of guessing silently.`,
    );
  }

  const vague = [...new Set((original.match(VAGUE) ?? []).map((w) => w.toLowerCase()))];
  if (vague.length > 0) {
    sections.push({
      title: 'Criteria',
      tag: 'criteria',
      body: `Say what ${vague.map((w) => `"${w}"`).join(' and ')} means here (the criteria you use) and apply them explicitly.`,
    });
    reasons.push(
      `${vague.map((w) => `"${w}"`).join(', ')} is vague: the model is asked to make its criteria explicit.`,
    );
  }

  if (!FORMAT.test(original)) {
    const body = PLURAL_ASK.test(original)
      ? 'A numbered list of up to 5 items, each with one line on why it fits.'
      : QUESTION.test(original)
        ? 'A direct answer first, then a short explanation.'
        : 'A concise answer in plain prose; use a list only for several separate items.';
    sections.push({ title: 'Output format', tag: 'output_format', body });
    reasons.push('Specified the output format, which the prompt did not give.');
  }

  if (family === 'anthropic') {
    reasons.push('Put each part in XML tags, the structure Claude models are trained to follow.');
  } else if (family === 'openai') {
    reasons.push('Put each part under a Markdown heading, the structure GPT models follow well.');
  } else {
    reasons.push('Split the prompt into labelled parts so the model can tell the task from its constraints.');
  }
  return { compiled: render(family, role, sections), reasons };
}
