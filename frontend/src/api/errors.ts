// Typed errors of the API client: every failure (an HTTP status with the gateway's `{"error":{"code","message"}}`
// body, a body that is not JSON, or no answer at all) becomes one ApiError with a `kind` the UI can switch on.

export type ErrorKind =
  | 'invalid' // 400: the message names the field
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'too_large' // 413
  | 'rate_limited' // 429 rate_limited
  | 'locked' // 429 account_locked
  | 'unavailable' // 502, 503, 504
  | 'server' // other 5xx
  | 'network' // no answer
  | 'unknown'; // anything else

export class ApiError extends Error {
  readonly kind: ErrorKind;
  /** The HTTP status; 0 when there was no answer. */
  readonly status: number;
  /** The gateway's machine-readable code (`invalid_argument`, `account_locked`, …), when it sent one. */
  readonly code: string | null;
  /** From `Retry-After`, for 429 and 503. */
  readonly retryAfterSeconds: number | null;
  readonly requestId: string | null;

  constructor(init: {
    kind: ErrorKind;
    status: number;
    message: string;
    code?: string | null;
    retryAfterSeconds?: number | null;
    requestId?: string | null;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code ?? null;
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.requestId = init.requestId ?? null;
  }
}

function kindOf(status: number, code: string | null): ErrorKind {
  switch (status) {
    case 400:
    case 422:
      return 'invalid';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'too_large';
    case 429:
      return code === 'account_locked' ? 'locked' : 'rate_limited';
    case 502:
    case 503:
    case 504:
      return 'unavailable';
    default:
      return status >= 500 ? 'server' : 'unknown';
  }
}

const FALLBACK: Record<ErrorKind, string> = {
  invalid: 'The request was not valid.',
  unauthenticated: 'Your session has ended; please sign in again.',
  forbidden: 'Your role does not allow this.',
  not_found: 'Not found.',
  conflict: 'This changed in the meantime; reload and try again.',
  too_large: 'The request is too large.',
  rate_limited: 'Too many requests; wait a moment and try again.',
  locked: 'This account is locked for a while after too many failed sign-ins.',
  unavailable: 'A backing service is unavailable; try again shortly.',
  server: 'The server failed to answer this request.',
  network: 'Cannot reach the server. Check your connection.',
  unknown: 'Unexpected answer from the server.',
};

/** Maps a failed response to an ApiError, reading the gateway's JSON error body when there is one. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let code: string | null = null;
  let message: string | null = null;
  try {
    const body: unknown = await response.json();
    if (body && typeof body === 'object' && 'error' in body) {
      const detail = (body as { error: unknown }).error;
      if (detail && typeof detail === 'object') {
        const d = detail as { code?: unknown; message?: unknown };
        if (typeof d.code === 'string') code = d.code;
        if (typeof d.message === 'string' && d.message.trim() !== '') message = d.message;
      }
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the fallback message says what the status means.
  }
  const retry = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
  const kind = kindOf(response.status, code);
  return new ApiError({
    kind,
    status: response.status,
    code,
    message: message ?? FALLBACK[kind],
    retryAfterSeconds: Number.isFinite(retry) ? retry : null,
    requestId: response.headers.get('x-request-id'),
  });
}

export function networkError(cause: unknown): ApiError {
  const error = new ApiError({ kind: 'network', status: 0, message: FALLBACK.network });
  (error as { cause?: unknown }).cause = cause;
  return error;
}

/** A sentence for people: the server's message, with the wait spelled out for a lockout or rate limit. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if ((error.kind === 'locked' || error.kind === 'rate_limited') && error.retryAfterSeconds) {
      const wait = formatWait(error.retryAfterSeconds);
      return error.kind === 'locked'
        ? `Too many failed sign-ins: this account is locked. Try again in ${wait}.`
        : `Too many attempts. Try again in ${wait}.`;
    }
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
