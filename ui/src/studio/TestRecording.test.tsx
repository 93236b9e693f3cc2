import { fireEvent, render, screen } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { studioTestSetup } from './testSetup';
import { TestRecording } from './TestRecording';

studioTestSetup();

describe('test recording', () => {
  it('marks a recording without sound, so the anchor checks the microphone', async () => {
    mockIPC((cmd) => (cmd === 'test_recording' ? { path: '/r/test-recording.mp4', url: 'http://127.0.0.1:41234/abc/test-recording.mp4', duration_ms: 4980, video: true, audio: false } : null));
    render(<TestRecording ready />);
    fireEvent.click(screen.getByTestId('wizard-test-record'));
    const result = await screen.findByTestId('wizard-test-result');
    expect(result.textContent).toBe('画面 ✓ 有 · 声音 ✗ 无 · 5.0 秒');
    expect(result.className).toBe('error');
    expect(screen.getByTestId('wizard-test-record').textContent).toBe('再录一次');
    expect(screen.getByTestId('wizard-test-video').getAttribute('src')).toMatch(/^http:\/\/127\.0\.0\.1:41234\/abc\/test-recording\.mp4\?t=\d+$/);
  });

  it('says why when the engine could not record', async () => {
    mockIPC((cmd) => {
      if (cmd === 'test_recording') throw { status: 0, code: 'engine', message: '视频引擎尚未启动 video engine still starting' };
      return null;
    });
    render(<TestRecording ready />);
    fireEvent.click(screen.getByTestId('wizard-test-record'));
    expect((await screen.findByRole('alert')).textContent).toBe('视频引擎尚未启动 video engine still starting');
    expect(screen.queryByTestId('wizard-test-video')).toBeNull();
  });
});
