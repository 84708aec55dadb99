// The Prometheus client's reading of range-query answers: the documented shape is taken as is, anything else
// is "an unexpected shape", never a half-read series.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheus, PrometheusError, readMatrix } from '../../integrations/prometheus.ts';

const matrix = (result: unknown) => ({ status: 'success', data: { resultType: 'matrix', result } });

describe('readMatrix', () => {
  it('reads series with their labels and points, special floats included', () => {
    const body = matrix([
      {
        metric: { instance: 'web-1:9100' },
        values: [
          [1700000000, '0.5'],
          [1700000015.5, 'NaN'],
        ],
      },
      {
        metric: {},
        values: [
          [1700000000, '+Inf'],
          [1700000015, '-Inf'],
          [1700000030, '1e+21'],
        ],
      },
    ]);
    const series = readMatrix(body)!;
    expect(series).toHaveLength(2);
    expect(series[0]!.labels).toEqual({ instance: 'web-1:9100' });
    expect(series[0]!.points[0]).toEqual([1700000000, 0.5]);
    expect(series[0]!.points[1]![0]).toBe(1700000015.5);
    expect(series[0]!.points[1]![1]).toBeNaN();
    expect(series[1]!.points.map(([, value]) => value)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21]);
  });

  it('reads an empty result as no series', () => {
    expect(readMatrix(matrix([]))).toEqual([]);
  });

  it.each([
    ['not an object', 'success'],
    ['an error status', { status: 'error', errorType: 'bad_data', error: 'parse error' }],
    ['no data', { status: 'success' }],
    ['a vector', { status: 'success', data: { resultType: 'vector', result: [] } }],
    ['a result that is not a list', { status: 'success', data: { resultType: 'matrix', result: {} } }],
    ['a series without values', matrix([{ metric: {} }])],
    ['labels that are a list', matrix([{ metric: [], values: [] }])],
    ['a label that is not a string', matrix([{ metric: { instance: 7 }, values: [] }])],
    ['a point that is not a pair', matrix([{ metric: {}, values: [[1700000000]] }])],
    ['a point with three parts', matrix([{ metric: {}, values: [[1700000000, '1', '2']] }])],
    ['a value that is a number', matrix([{ metric: {}, values: [[1700000000, 0.5]] }])],
    ['a timestamp that is a string', matrix([{ metric: {}, values: [['1700000000', '0.5']] }])],
    ['a bad point after good ones', matrix([{ metric: {}, values: [[1700000000, '0.5'], null] }])],
  ])('refuses %s', (_, body) => {
    expect(readMatrix(body)).toBeNull();
  });
});

describe('createPrometheus().queryRange', () => {
  let server: Server;
  let url: string;
  let answer: unknown;

  beforeAll(async () => {
    server = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('returns the series Prometheus sent', async () => {
    answer = matrix([{ metric: { instance: 'a' }, values: [[1700000000, '0.25']] }]);
    const series = await createPrometheus({ url, timeoutMs: 2000 }).queryRange('up', 1700000000, 1700000000, 15);
    expect(series).toEqual([{ labels: { instance: 'a' }, points: [[1700000000, 0.25]] }]);
  });

  it('turns an answer of the wrong shape into a bad_response error', async () => {
    answer = matrix([{ metric: { instance: 'a' }, values: [[1700000000, 0.25]] }]);
    const failure = createPrometheus({ url, timeoutMs: 2000 }).queryRange('up', 1700000000, 1700000000, 15);
    await expect(failure).rejects.toBeInstanceOf(PrometheusError);
    await expect(failure).rejects.toMatchObject({ kind: 'bad_response', message: 'Prometheus answered with an unexpected shape' });
  });
});
