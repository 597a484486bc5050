// A plain-JavaScript FlModel for the browser test (no build step, no imports): softmax regression
// over dense rows, trained by minibatch SGD with the optional FedProx term (Li et al., MLSys 2020),
// and a mean cross-entropy loss, which joinFederation reports beside accuracy.
export class Logistic {
  constructor(features, classes) {
    this.features = features;
    this.classes = classes;
    this.dim = classes * (features + 1);
  }

  init() {
    return new Float32Array(this.dim);
  }

  /** Class probabilities of row i into p (a Float64Array of classes). */
  #probabilities(params, x, i, p) {
    const f = this.features;
    let max = -Infinity;
    for (let c = 0; c < this.classes; c++) {
      let z = params[this.classes * f + c];
      for (let d = 0; d < f; d++) z += params[c * f + d] * x[i * f + d];
      p[c] = z;
      max = Math.max(max, z);
    }
    let sum = 0;
    for (let c = 0; c < this.classes; c++) sum += p[c] = Math.exp(p[c] - max);
    for (let c = 0; c < this.classes; c++) p[c] /= sum;
  }

  train(params, global, data, indices, options, rng) {
    const f = this.features;
    const order = Array.from(indices);
    const p = new Float64Array(this.classes);
    const grad = new Float64Array(this.dim);
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      rng.shuffle(order);
      for (let start = 0; start < order.length; start += options.batchSize) {
        const batch = order.slice(start, start + options.batchSize);
        grad.fill(0);
        for (const i of batch) {
          this.#probabilities(params, data.x, i, p);
          for (let c = 0; c < this.classes; c++) {
            const g = p[c] - (c === data.labels[i] ? 1 : 0);
            grad[this.classes * f + c] += g;
            for (let d = 0; d < f; d++) grad[c * f + d] += g * data.x[i * f + d];
          }
        }
        for (let j = 0; j < this.dim; j++) {
          params[j] -= (options.lr / batch.length) * grad[j] + options.lr * options.mu * (params[j] - global[j]);
        }
      }
    }
  }

  accuracy(params, data) {
    const p = new Float64Array(this.classes);
    let correct = 0;
    for (let i = 0; i < data.size; i++) {
      this.#probabilities(params, data.x, i, p);
      let best = 0;
      for (let c = 1; c < this.classes; c++) if (p[c] > p[best]) best = c;
      if (best === data.labels[i]) correct++;
    }
    return data.size === 0 ? 0 : correct / data.size;
  }

  loss(params, data) {
    const p = new Float64Array(this.classes);
    let total = 0;
    for (let i = 0; i < data.size; i++) {
      this.#probabilities(params, data.x, i, p);
      total -= Math.log(Math.max(p[data.labels[i]], 1e-12));
    }
    return data.size === 0 ? 0 : total / data.size;
  }
}
