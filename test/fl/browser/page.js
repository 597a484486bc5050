// The browser side of test/fl/client/browser.test.ts: a page served from one origin joins the
// coordinator of another (from ?coordinator=&token=) with dpfl/fl/client as a plain ES module,
// trains a softmax regression on synthetic data, and leaves the summary (or the error) in window.result.
// ?seed=S seeds local training as simulate() seeds client k (JoinOptions.seed), so the test can
// predict the server's model in Node.
import { syntheticDense } from '/dist/data/synthetic.js';
import { joinFederation } from '/dist/fl/client/index.js';
import { Logistic } from './logistic.js';

const query = new URLSearchParams(location.search);
const events = [];
try {
  const data = syntheticDense({ size: 90, dim: 5, classes: 3, seed: 11 });
  const summary = await joinFederation({
    url: query.get('coordinator'),
    token: query.get('token'),
    model: new Logistic(5, 3),
    data,
    examples: Array.from({ length: 60 }, (_, i) => i),
    pollSeconds: 0.05,
    backoff: { baseSeconds: 0.01, capSeconds: 0.05, maxFailures: 3 },
    onEvent: (e) => events.push(e.type),
    ...(query.has('seed') ? { seed: Number(query.get('seed')) } : {}),
  });
  window.result = { summary, events, crypto: typeof globalThis.crypto.getRandomValues };
} catch (e) {
  window.result = { error: { name: e.name, code: e.code, message: e.message }, events };
}
