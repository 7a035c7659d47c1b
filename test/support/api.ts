/** An answer of the gateway's JSON API: its status and its body (an empty body reads as `{}`). */
export interface ApiAnswer<T> {
  status: number;
  json: T;
}

/**
 * One JSON call to a running gateway with a bearer credential, as the admin and account suites make them. The
 * answer is returned whatever its status, so tests can assert refusals.
 */
export async function callApi<T>(
  baseUrl: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as T };
}
