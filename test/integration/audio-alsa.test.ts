// The ALSA driver with the real alsa-utils tools on ALSA's "null" PCM (no sound card needed): the
// command line, the set-up line the driver waits for and the open-error path are alsa-utils' own.
// Needs the Debian package alsa-utils (a runtime dependency of the real board; npm test installs it).
import { afterEach, describe, expect, it } from '@jest/globals';
import { AlsaAudio } from '../../drivers/audio/alsa.js';
import type { AudioDriverEvents } from '../../drivers/audio/types.js';
import { pidExists } from '../support/process.js';

describe('AlsaAudio with alsa-utils on the null PCM', () => {
  let audio: AlsaAudio | null = null;
  afterEach(async () => {
    await audio?.close();
  });

  it('opens playback once aplay has configured the device, plays periods, and stops aplay on close', async () => {
    audio = new AlsaAudio({ board: 'null', devices: { speaker: 'null' } });
    const playback = await audio.openPlayback('speaker');
    const [pid] = audio.pids;
    expect(pidExists(pid)).toBe(true);
    for (let i = 0; i < 10; i++) await playback.write(new Int16Array(160).fill(i * 100));
    await playback.close();
    expect(pidExists(pid)).toBe(false);
  });

  it('captures whole periods at 16 kHz (the null PCM is unpaced: what the reader cannot take is dropped and reported)', async () => {
    audio = new AlsaAudio({ board: 'null', devices: { handset: 'null' } });
    const dropped: AudioDriverEvents['periodsDropped'][] = [];
    audio.on('periodsDropped', (e) => dropped.push(e));
    const capture = await audio.openCapture('handset', { sampleRate: 16000 });
    for (let i = 0; i < 5; i++) {
      const frame = await capture.read(); // the null PCM's content is whatever its buffer held
      expect(frame).toBeInstanceOf(Int16Array);
      expect(frame.length).toBe(320);
    }
    const [pid] = audio.pids;
    await capture.close();
    expect(pidExists(pid)).toBe(false);
    expect(dropped.every((d) => d.endpoint === 'handset' && d.direction === 'capture' && d.count > 0)).toBe(true);
  });

  it('fails the open with arecord\'s own message when the card does not exist', async () => {
    audio = new AlsaAudio({ board: 'null', devices: { line: 'plughw:29,0' } });
    await expect(audio.openCapture('line')).rejects.toMatchObject({
      code: 'DRIVER_OPEN_FAILED',
      message: expect.stringMatching(/cannot open line capture on ALSA device 'plughw:29,0'.*audio open error/),
    });
    expect(audio.pids).toEqual([]);
  });
});
