// The compiler's own caps, under the platform's 1 MiB body limit: a prompt is something a person
// writes, and every byte of it (and of a caller's schema) goes to a model, twice on a retry.
export const LIMITS = {
  // Characters of a prompt (413 beyond).
  promptChars: 20_000,
  // Bytes of a caller's schema as JSON (413 beyond), its properties summed over every level (413), and
  // its nesting (400: no form is that deep).
  schemaBytes: 32_768,
  schemaProperties: 100,
  schemaDepth: 32,
  // Fields of a generated form, and placeholders reported.
  formFields: 30,
  placeholders: 50,
  // Characters of the model's structured answer kept in an error's details.
  shownAnswer: 200,
} as const;
