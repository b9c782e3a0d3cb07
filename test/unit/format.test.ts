import * as assert from 'node:assert/strict';
import { formatCountdown, formatDuration, formatNumber, formatSeconds, formatWindow } from '../../src/core/format';

describe('format: one way to write numbers and times', () => {
  it('formats metric values to three significant digits', () => {
    assert.equal(formatNumber(null), '—');
    assert.equal(formatNumber(Number.NaN), '—');
    assert.equal(formatNumber(Infinity), 'Infinity');
    assert.equal(formatNumber(1234.56), '1235');
    assert.equal(formatNumber(12.345), '12.35');
    assert.equal(formatNumber(0.012345), '0.0123');
  });

  it('formats step times in tenths of a second', () => {
    assert.equal(formatSeconds(0), '0.0 s');
    assert.equal(formatSeconds(1234), '1.2 s');
    assert.equal(formatSeconds(125_000), '125.0 s');
  });

  it('formats durations in ms, s, then min and s from two minutes on', () => {
    assert.equal(formatDuration(undefined), '');
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(999), '999 ms');
    assert.equal(formatDuration(1000), '1.0 s');
    assert.equal(formatDuration(119_949), '119.9 s');
    assert.equal(formatDuration(120_000), '2 min 0 s');
    assert.equal(formatDuration(185_600), '3 min 6 s');
  });

  it('formats windows and budgets in s below two minutes, in min from there', () => {
    assert.equal(formatWindow(90_000), '90 s');
    assert.equal(formatWindow(119_600), '120 s');
    assert.equal(formatWindow(300_000), '5 min');
    assert.equal(formatWindow(150_000), '2.5 min');
  });

  it('counts down in m:ss and never below zero', () => {
    assert.equal(formatCountdown(10_000, 0), '0:10');
    assert.equal(formatCountdown(61_400, 0), '1:01');
    assert.equal(formatCountdown(600_000, 0), '10:00');
    assert.equal(formatCountdown(0, 5_000), '0:00');
    assert.equal(formatCountdown(59_600, 0), '1:00');
  });
});
