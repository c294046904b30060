/**
 * The phi of the accrual failure detector (Hayashibara et al., 2004): phi = -log10(P_later(t)), the odds, in
 * orders of magnitude, that a heartbeat still arrives after t ms of silence. phi 8 ≈ 1 in 10^8.
 * Both functions compute in log space, so phi keeps growing with the silence instead of saturating when
 * P_later underflows (at phi ≈ 300 for float64), and never returns Infinity or NaN for finite inputs.
 */

const LN10 = Math.LN10;
const LOG10_E = Math.LOG10E;

/**
 * ln(erfc(x)) for x ≥ 0, from the Chebyshev fit of Numerical Recipes ("erfcc", fractional error < 1.2e-7
 * everywhere): erfc(x) = t · exp(-x² + P(t)) with t = 1 / (1 + x/2). Taking the log of that form is exact
 * arithmetic, so the result stays finite for any x.
 */
/** Coefficients of P(t), lowest degree first. */
const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

function logErfcNonNegative(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  let poly = 0;
  for (let i = ERFC_COEFFICIENTS.length - 1; i >= 0; i--) poly = poly * t + ERFC_COEFFICIENTS[i]!;
  return Math.log(t) - x * x + poly;
}

/** -log10 of the upper tail of the standard normal distribution at y: -log10(1 - Φ(y)). */
export function normalUpperTailPhi(y: number): number {
  // 1 - Φ(y) = erfc(y / √2) / 2; for y < 0, erfc(-z) = 2 - erfc(z).
  const z = y / Math.SQRT2;
  const logTail = z >= 0 ? logErfcNonNegative(z) - Math.LN2 : Math.log(1 - Math.exp(logErfcNonNegative(-z)) / 2);
  return Math.max(0, -logTail / LN10);
}

/**
 * phi under a normal distribution of intervals (Akka): the silence `elapsedMs` is compared with
 * mean + acceptable pause, in units of the standard deviation.
 */
export function phiNormal(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  return normalUpperTailPhi((elapsedMs - meanMs) / stdDeviationMs);
}

/** phi under an exponential distribution of intervals (Cassandra): P_later = e^(-t/mean), so phi = log10(e)·t/mean. */
export function phiExponential(elapsedMs: number, meanMs: number): number {
  return Math.max(0, (LOG10_E * elapsedMs) / meanMs);
}
