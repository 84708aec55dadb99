/** What tests assert on: label sets and plain numbers (`NaN`, `±Infinity` included). */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  /** `[unixSeconds, value]`, oldest first. */
  values: Array<[number, number]>;
}

type ApiSample = [number, string];
interface ApiResponse {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?:
    | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: ApiSample }> }
    | { resultType: 'scalar'; result: ApiSample }
    | { resultType: 'matrix'; result: Array<{ metric: Record<string, string>; values: ApiSample[] }> }
    | { resultType: 'string'; result: ApiSample };
}

/** Prometheus writes `+Inf`, which `Number()` turns into NaN. */
export function parseSampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

export async function queryInstant(baseUrl: string, promql: string, timeSec?: number): Promise<VectorSample[]> {
  const params = new URLSearchParams({ query: promql });
  if (timeSec !== undefined) params.set('time', String(timeSec));
  const data = await call(baseUrl, '/api/v1/query', params, promql);
  switch (data.resultType) {
    case 'vector':
      return data.result.map(({ metric, value: [t, v] }) => ({ metric, value: parseSampleValue(v), timestamp: t }));
    case 'scalar':
      return [{ metric: {}, value: parseSampleValue(data.result[1]), timestamp: data.result[0] }];
    default:
      throw new Error(`query ${promql} returned a ${data.resultType}, not a vector`);
  }
}

export async function queryRange(baseUrl: string, promql: string, startSec: number, endSec: number, stepSec: number): Promise<RangeSeries[]> {
  const params = new URLSearchParams({ query: promql, start: String(startSec), end: String(endSec), step: String(stepSec) });
  const data = await call(baseUrl, '/api/v1/query_range', params, promql);
  if (data.resultType !== 'matrix') throw new Error(`query_range ${promql} returned a ${data.resultType}`);
  return data.result.map(({ metric, values }) => ({
    metric,
    values: values.map(([t, v]): [number, number] => [t, parseSampleValue(v)]),
  }));
}

async function call(baseUrl: string, path: string, params: URLSearchParams, promql: string) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: params.toString(),
  });
  const body = (await response.json()) as ApiResponse;
  if (body.status !== 'success' || !body.data) {
    throw new Error(`Prometheus ${path} failed for ${promql}: ${body.errorType ?? response.status}: ${body.error ?? ''}`);
  }
  return body.data;
}
