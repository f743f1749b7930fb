// The console's only way to the data: the service's own HTTP API, called in-process
// (app.fetch) with the session's token as Bearer. What a page may read or do is exactly what
// that token may do with the CLI: the API's scopes are the console's, with no second set of
// rules here. The request keeps the caller's connection (for the client address the API
// audits) and its request id (one id across the page and the calls it made).

import type { Context } from 'hono';
import type { AppEnv } from '../http.ts';

export type Fetcher = (request: Request, env: unknown) => Response | Promise<Response>;

export interface Problem {
  status: number;
  code: string;
  detail: string;
}

export type ApiAnswer<T> = { ok: true; status: number; body: T; headers: Headers } | { ok: false; status: number; problem: Problem };

export type Api = <T = unknown>(method: string, path: string, body?: unknown) => Promise<ApiAnswer<T>>;

export function apiClient(fetcher: Fetcher, c: Context<AppEnv>, token: string): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> => {
    const headers = new Headers({ authorization: `Bearer ${token}`, 'x-request-id': c.get('requestId'), accept: 'application/json' });
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers.set('content-type', 'application/json');
      init.body = JSON.stringify(body);
    }
    const res = await fetcher(new Request(new URL(path, c.req.url), init), c.env);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (res.ok) return { ok: true, status: res.status, body: parsed as T, headers: res.headers };
    const p = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<Problem>;
    return { ok: false, status: res.status, problem: { status: res.status, code: typeof p.code === 'string' ? p.code : 'error', detail: typeof p.detail === 'string' ? p.detail : `The API answered ${res.status}.` } };
  };
}
