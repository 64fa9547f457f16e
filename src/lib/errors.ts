// The one error catalogue of docs/api.md: every 4xx/5xx the API sends is one of these codes.
export const ERROR_CATALOGUE = {
  VALIDATION_ERROR: { status: 400, message: 'The request contains invalid data' },
  AUTHENTICATION_REQUIRED: { status: 401, message: 'Authentication is required' },
  INSUFFICIENT_PERMISSIONS: { status: 403, message: 'You do not have permission to perform this action' },
  RESOURCE_NOT_FOUND: { status: 404, message: 'The requested resource was not found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed on this resource' },
  CONFLICT: { status: 409, message: 'The resource already exists' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  RATE_LIMIT_EXCEEDED: { status: 429, message: 'Rate limit exceeded' },
  QUOTA_EXCEEDED: { status: 429, message: 'Organization quota exceeded' },
  INTERNAL_ERROR: { status: 500, message: 'An unexpected error occurred' },
  PROVIDER_ERROR: { status: 502, message: 'The AI provider failed to answer' },
  INTEGRATION_ERROR: { status: 502, message: 'An integration failed' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is not available' },
  PROVIDER_TIMEOUT: { status: 504, message: 'The AI provider did not answer in time' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export type ErrorStatus = (typeof ERROR_CATALOGUE)[ErrorCode]['status'];

export interface ErrorDetail {
  field: string;
  message: string;
}

export interface ApiErrorOptions {
  details?: ErrorDetail[];
  headers?: Record<string, string>;
  cause?: unknown;
}

// Messages given here reach the client: never put upstream bodies, SQL or secrets in them.
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, options: ApiErrorOptions = {}) {
    super(message ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    message: string;
    status_code: number;
    details?: ErrorDetail[];
    request_id: string;
    timestamp: string;
  };
}

export function toEnvelope(err: ApiError, requestId: string, timestamp: string): ErrorEnvelope {
  return {
    error: {
      code: err.code,
      message: err.message,
      status_code: err.status,
      ...(err.details && err.details.length > 0 ? { details: err.details } : {}),
      request_id: requestId,
      timestamp,
    },
  };
}

export function statusToCode(status: number): ErrorCode {
  switch (status) {
    case 400:
    case 415:
    case 422:
      return 'VALIDATION_ERROR';
    case 401:
      return 'AUTHENTICATION_REQUIRED';
    case 403:
      return 'INSUFFICIENT_PERMISSIONS';
    case 404:
      return 'RESOURCE_NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMIT_EXCEEDED';
    case 502:
      return 'PROVIDER_ERROR';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    case 504:
      return 'PROVIDER_TIMEOUT';
    default:
      return 'INTERNAL_ERROR';
  }
}
