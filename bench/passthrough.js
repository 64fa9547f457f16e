// The floor of any gateway on workerd: forward the request to OPENAI_BASE_URL/chat/completions
// with fetch (the provider key swapped in, as any gateway must) and return the upstream response
// as it is: status, headers and body stream, untouched.
export default {
  async fetch(request, env) {
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${env.OPENAI_API_KEY}`);
    return fetch(`${env.OPENAI_BASE_URL}/chat/completions`, {
      method: 'POST',
      headers,
      body: request.body,
    });
  },
};
