import type { FieldSpec } from './fields';

// A small lexicon of parameters that everyday prompts leave open. Each kind has the words that suggest
// it and the field a person would fill in. It is the compiler's deterministic analysis: it works with no
// model at all (the local provider), names placeholders' types (`{{date}}` is a date), and gives the
// rule-based compile its "details to take into account". It is not a list of answers to known prompts:
// any prompt with these words gets these fields. Why: docs/design/prompt-compiler.md#the-lexicon
export interface ParameterKind {
  field: Omit<FieldSpec, 'source' | 'required'>;
  // Words in a prompt that make the parameter relevant.
  triggers: RegExp;
  // Names of placeholders that are this kind (compared with the placeholder's key).
  names: RegExp;
  // Words in a text that mean one of the field's enum values (update_parameters), value → pattern.
  synonyms?: Record<string, RegExp>;
}

const TIME_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

export const LEXICON: ParameterKind[] = [
  {
    field: {
      key: 'location',
      title: 'Location',
      description: 'Where: a city, neighbourhood or address.',
      type: 'string',
      widget: 'text',
      placeholder: 'e.g. Lisbon, Alfama',
    },
    triggers:
      /\b(restaurants?|hotels?|caf[eé]s?|bars?|pubs?|shops?|stores?|near(by)?|places?|weather|visit(ing)?|travel(l?ing)?|trips?|flights?|apartments?|attractions?|things to do|gyms?|venues?)\b/i,
    names: /^(location|city|place|where|destination|address|area|region|town|neighbou?rhood)$/,
  },
  {
    field: {
      key: 'cuisine',
      title: 'Cuisine',
      description: 'The kind of food.',
      type: 'string',
      widget: 'text',
      placeholder: 'e.g. Italian, Japanese, vegetarian',
      examples: ['Italian', 'Japanese', 'Mexican', 'Indian', 'Vegetarian'],
    },
    triggers:
      /\b(restaurants?|food|eat(ing)?|dinner|lunch|breakfast|brunch|meals?|recipes?|dish(es)?|cook(ing)?|cuisine|takeaway|takeout)\b/i,
    names: /^(cuisine|food|food_type|type_of_food|dish)$/,
  },
  {
    field: {
      key: 'price_range',
      title: 'Price range',
      description: 'How much to spend, from budget to luxury.',
      type: 'string',
      enum: ['budget', 'moderate', 'expensive', 'luxury'],
      enumTitles: ['Budget ($)', 'Moderate ($$)', 'Expensive ($$$)', 'Luxury ($$$$)'],
      default: 'moderate',
      widget: 'select',
    },
    triggers:
      /\b(restaurants?|hotels?|cheap|affordable|inexpensive|expensive|pricey|luxury|prices?|shop(ping)?|buy(ing)?|products?|deals?|rent(al)?)\b/i,
    names: /^(price|price_range|price_level|pricing)$/,
    synonyms: {
      budget: /\b(cheap|budget|inexpensive|affordable|low[- ]cost)\b/i,
      moderate: /\b(moderate(ly priced)?|mid[- ]range|reasonabl[ey]( priced)?)\b/i,
      expensive: /\b(expensive|pricey|upscale|high[- ]end)\b/i,
      luxury: /\b(luxury|luxurious|fine[- ]dining|fancy|lavish)\b/i,
    },
  },
  {
    field: {
      key: 'date',
      title: 'Date',
      description: 'The day it is for.',
      type: 'string',
      format: 'date',
      widget: 'date',
    },
    triggers:
      /\b(when|dates?|book(ing)?|reservations?|reserve|schedule|appointments?|meetings?|events?|tonight|tomorrow|weekend|deadline|itinerary)\b/i,
    names: /^(date|day|when|deadline|start_date|end_date|check_in|check_out)$/,
  },
  {
    field: {
      key: 'time',
      title: 'Time',
      description: 'The time of day (24-hour, HH:MM).',
      type: 'string',
      pattern: TIME_PATTERN,
      widget: 'time',
      placeholder: 'HH:MM',
    },
    triggers: /\b(time|book(ing)?|reservations?|reserve|appointments?|meetings?|tonight|o'?clock)\b/i,
    names: /^(time|hour|start_time|end_time|time_of_day)$/,
  },
  {
    field: {
      key: 'party_size',
      title: 'Number of people',
      description: 'How many people it is for.',
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 2,
      widget: 'number',
    },
    triggers: /\b(reservations?|reserve|table for|party of|group|people|guests|persons|attendees|travell?ers)\b/i,
    names: /^(party_size|people|guests|group_size|number_of_people|headcount|attendees|travell?ers)$/,
  },
  {
    field: {
      key: 'budget',
      title: 'Budget',
      description: 'The most to spend, as a number in your currency.',
      type: 'number',
      minimum: 0,
      widget: 'number',
    },
    triggers:
      /\b(budget|costs?|afford|spend(ing)?|purchase|gifts?|invest(ing|ment)?|plan(ning)? a trip|vacation|holiday)\b/i,
    names: /^(budget|max_budget|cost|amount|max_price|spend)$/,
  },
  {
    field: {
      key: 'language',
      title: 'Language',
      description: 'The language of the answer.',
      type: 'string',
      default: 'English',
      widget: 'text',
      examples: ['English', 'Spanish', 'French', 'German', 'Japanese'],
    },
    triggers: /\b(translat(e|ion|ing)|languages?|locali[sz]e)\b/i,
    names: /^(language|lang|target_language|source_language|locale)$/,
  },
  {
    field: {
      key: 'tone',
      title: 'Tone',
      description: 'How the text should sound.',
      type: 'string',
      enum: ['neutral', 'formal', 'friendly', 'persuasive', 'humorous'],
      default: 'neutral',
      widget: 'radio',
    },
    triggers:
      /\b(write|draft|compose|e-?mails?|letters?|messages?|repl(y|ies)|posts?|tweets?|essays?|stor(y|ies)|blogs?|articles?|copy|announcements?|speech|cover letter)\b/i,
    names: /^(tone|style|voice|mood)$/,
    synonyms: {
      formal: /\b(formal(ly)?|professional(ly)?)\b/i,
      friendly: /\b(friendly|casual(ly)?|warm(ly)?|informal(ly)?)\b/i,
      persuasive: /\b(persuasive(ly)?|convincing(ly)?|sales)\b/i,
      humorous: /\b(humou?rous(ly)?|funny|witty|playful)\b/i,
    },
  },
  {
    field: {
      key: 'length',
      title: 'Length',
      description: 'How long the answer should be.',
      type: 'string',
      enum: ['short', 'medium', 'long'],
      default: 'medium',
      widget: 'radio',
    },
    triggers:
      /\b(write|summar(y|ies|i[sz]e)|essays?|articles?|stor(y|ies)|blogs?|posts?|reports?|descriptions?|describe|explain|overview)\b/i,
    names: /^(length|size|word_count|words|max_words)$/,
    synonyms: {
      short: /\b(short|brief(ly)?|concise(ly)?|one[- ]line|tl;?dr)\b/i,
      long: /\b(long|detailed|in[- ]depth|thorough(ly)?|comprehensive)\b/i,
    },
  },
  {
    field: {
      key: 'audience',
      title: 'Audience',
      description: 'Who will read it.',
      type: 'string',
      default: 'a general audience',
      widget: 'text',
      placeholder: 'e.g. beginners, executives, children',
    },
    triggers: /\b(explain|teach|tutorial|presentation|lessons?|articles?|blogs?|newsletter|documentation)\b/i,
    names: /^(audience|reader|readers|target_audience|level)$/,
  },
];

/** The kinds whose words appear in the prompt, in lexicon order. */
export function kindsIn(prompt: string): ParameterKind[] {
  return LEXICON.filter((k) => k.triggers.test(prompt));
}

/** The kind a placeholder's key names, if any. */
export function kindNamed(key: string): ParameterKind | undefined {
  return LEXICON.find((k) => k.names.test(key));
}
