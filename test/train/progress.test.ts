import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { createProgress, formatDuration, type ProgressState } from '../../lib/training/progress';
import { renderCurvesSvg } from '../../lib/plot';

function sink(tty: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  stream.isTTY = tty;
  stream.columns = 100;
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

const state: ProgressState = {
  epoch: 0,
  epochs: 2,
  batch: 10,
  batches: 10,
  loss: 0.5,
  top1: 0.8,
  lr: 0.01,
  imagesPerSecond: 1234.4,
  etaSeconds: 75,
};

describe('progress', () => {
  it('draws a bar in place on a terminal, with images/s, loss and ETA, and clears it for whole lines', () => {
    const { stream, text } = sink(true);
    const p = createProgress('auto', stream);
    p.update(state);
    expect(text()).toBe('\r\x1b[2Kepoch 1/2 ████████████████████ 10/10  loss 0.5000  acc 0.800  1234 img/s  ETA 1:15');
    p.line('epoch summary');
    expect(text().endsWith('\r\x1b[2Kepoch summary\n')).toBe(true);
    p.close();
  });

  it('prints plain lines at most every interval elsewhere, and only summaries or nothing when asked', () => {
    const lines = sink(false);
    const p = createProgress('auto', lines.stream, 0);
    p.update(state);
    expect(lines.text()).toBe('epoch 1/2 batch 10/10: loss 0.5000 top1 0.8000 lr 0.0100 1234 img/s eta 1:15\n');
    // Within the interval nothing is printed, except the first loss, as soon as it is known.
    const slow = sink(false);
    const s = createProgress('lines', slow.stream, 3600);
    s.update({ ...state, loss: null, top1: null });
    expect(slow.text()).toBe('');
    s.update(state);
    s.update(state);
    expect(slow.text()).toBe('epoch 1/2 batch 10/10: loss 0.5000 top1 0.8000 lr 0.0100 1234 img/s eta 1:15\n');
    const epochs = sink(true);
    const e = createProgress('epochs', epochs.stream);
    e.update(state);
    e.line('done');
    expect(epochs.text()).toBe('done\n');
    const none = sink(true);
    createProgress('none', none.stream).line('x');
    expect(none.text()).toBe('');
    expect(() => createProgress('fancy' as never, none.stream)).toThrow(/progress must be one of auto, bar, lines, epochs, none/);
  });

  it('formats durations', () => {
    expect([formatDuration(5), formatDuration(75), formatDuration(3725), formatDuration(NaN)]).toEqual(['0:05', '1:15', '1:02:05', '?']);
  });

  it('renders curves with both series and escapes the title', () => {
    const svg = renderCurvesSvg(
      [
        { epoch: 0, trainLoss: 1.2, trainTop1: 0.6, valLoss: 0.9, valTop1: 0.7 },
        { epoch: 1, trainLoss: 0.7, trainTop1: 0.8, valLoss: 0.6, valTop1: 0.82 },
      ],
      'a <b> & c',
    );
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    expect(svg).toContain('val top-1');
  });
});
