// What a run's phases are and what each asks the model. Seed 003 names phases by code ("Phase 0") and name
// ("Ideation"); a run gets the client's `custom_phases`, else its template's, else these seven.

export const DEFAULT_PHASES = [
  'Ideation',
  'Research',
  'Requirements',
  'Architecture',
  'Implementation',
  'Testing',
  'Deployment',
] as const;

export const MAX_PHASES = 20;
// How much of each earlier phase's output the next phase is given (the prompt stays bounded).
export const PRIOR_OUTPUT_CHARS = 4_000;

export interface PhasePlan {
  position: number;
  code: string;
  name: string;
}

// "user research" → "User Research": seed 003 shows names capitalized ("Ideation").
export function phaseName(raw: string): string {
  return raw
    .trim()
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

export function planPhases(names: readonly string[]): PhasePlan[] {
  return names.map((name, position) => ({ position, code: `Phase ${position}`, name: phaseName(name) }));
}

export interface PriorPhase {
  name: string;
  output: string;
}

// The messages of one phase: the topic, what the earlier phases produced (each cut to PRIOR_OUTPUT_CHARS),
// and what this phase must deliver.
export function phaseMessages(
  topic: string,
  phase: { name: string; position: number },
  total: number,
  prior: readonly PriorPhase[],
): { role: 'system' | 'user'; content: string }[] {
  const context = prior
    .map((p) => {
      const cut =
        p.output.length > PRIOR_OUTPUT_CHARS ? `${p.output.slice(0, PRIOR_OUTPUT_CHARS)}\n[… truncated]` : p.output;
      return `## ${p.name}\n${cut}`;
    })
    .join('\n\n');
  return [
    {
      role: 'system',
      content:
        'You are one phase of a multi-phase project orchestration. Build on the earlier phases; answer with ' +
        "this phase's deliverable only, in Markdown.",
    },
    {
      role: 'user',
      content:
        `Topic: ${topic}\n\nPhase ${phase.position + 1} of ${total}: ${phase.name}.` +
        (context ? `\n\nEarlier phases:\n\n${context}` : '') +
        `\n\nWrite the ${phase.name} deliverable for this topic.`,
    },
  ];
}
