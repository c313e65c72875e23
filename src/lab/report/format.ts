/**
 * Numbers for humans. One fixed locale (en-US) so a report reads the same on
 * every machine and tests can look for "71,500" whatever LANG says.
 */

export const NOT_MEASURED = 'not measured'

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })
const upToTwo = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })
const twoSignificant = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 2 })

function missing (value: number | null | undefined): value is null | undefined {
  return value === null || value === undefined || !Number.isFinite(value)
}

/** Requests per second, counts: 71,500. */
export function formatCount (value: number | null | undefined): string {
  return missing(value) ? NOT_MEASURED : integer.format(value)
}

/** One decimal, always shown: 0.7, 515.0, 1,240.0. */
export function formatDecimal (value: number | null | undefined): string {
  return missing(value) ? NOT_MEASURED : oneDecimal.format(value)
}

/** Milliseconds with one decimal: 0.7, 515.0. */
export const formatMs = formatDecimal

/** A plain number as measured, at most two decimals: 3.79, 12.4, 0.5. */
export function formatNumber (value: number | null | undefined): string {
  return missing(value) ? NOT_MEASURED : upToTwo.format(value)
}

/**
 * A ratio: 4.39×, 0.69×, and two significant digits below 0.1 (0.0025×), so a
 * small ratio never reads as 0×.
 */
export function formatRatio (value: number | null | undefined): string {
  if (missing(value)) return NOT_MEASURED
  return `${Math.abs(value) < 0.1 && value !== 0 ? twoSignificant.format(value) : upToTwo.format(value)}×`
}

/** A share 0..1 as a percentage with one decimal: 25.3 %. */
export function formatPercent (fraction: number | null | undefined): string {
  return missing(fraction) ? NOT_MEASURED : `${oneDecimal.format(fraction * 100)} %`
}

export function passFail (pass: boolean | null | undefined): string {
  return pass === true ? 'PASS' : pass === false ? 'FAIL' : NOT_MEASURED
}
