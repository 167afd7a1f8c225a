// Small helpers shared by the viewer and the designer: human-readable durations and CSRF-protected requests.

const UNITS = [
  ['d', 86400],
  ['h', 3600],
  ['min', 60],
  ['s', 1]
];

/** "2d 4h", "3h 20min", "45s": the two largest non-zero units of a number of seconds. */
export function humanDuration(seconds) {
  let rest = Math.max(0, Math.round(Number(seconds) || 0));
  if (rest === 0) {
    return '0s';
  }
  const parts = [];
  for (const [unit, size] of UNITS) {
    if (rest >= size && parts.length < 2) {
      parts.push(Math.floor(rest / size) + unit);
      rest %= size;
    } else if (parts.length) {
      break;
    }
  }
  return parts.join(' ');
}

/** The CSRF token the page carries in <meta name="csrf-token">. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

/**
 * POST ``body`` (a string or FormData) to ``url`` and read the JSON answer.
 * Returns { ok, status, data }: ok is false for an HTTP error, a network failure, a non-JSON answer, or an answer
 * saying { "ok": false } (a refusal, e.g. a model the engine will not deploy).
 */
export async function postJSON(url, body, contentType) {
  const headers = { 'X-CSRFToken': csrfToken(), 'Accept': 'application/json' };
  if (contentType) {
    headers['Content-Type'] = contentType;
  }
  let response;
  try {
    response = await fetch(url, { method: 'POST', body, headers, credentials: 'same-origin' });
  } catch (err) {
    return { ok: false, status: 0, data: { message: String(err && err.message || err) } };
  }
  let data;
  try {
    data = await response.json();
  } catch (err) { // e.g. the sign-in page after the session expired
    const reason = response.redirected ? response.url : response.status + ' ' + response.statusText;
    return { ok: false, status: response.status, data: { message: reason } };
  }
  return { ok: response.ok && data.ok !== false, status: response.status, data };
}

/** Parse a JSON data attribute; a missing or broken one gives ``fallback``. */
export function jsonAttribute(element, name, fallback) {
  const text = element.getAttribute(name);
  if (!text) {
    return fallback;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    return fallback;
  }
}

/** True when ``error`` is bpmn-js refusing a model without diagram interchange (no bpmndi:BPMNDiagram). */
export function isMissingDiagram(error) {
  return /no diagram to display/i.test(String(error && error.message || error));
}
