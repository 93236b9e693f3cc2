// The scene editors as the studio mounts them (one shared model), over a mocked engine that
// records what the window sends.
import { mockConvertFileSrc, mockIPC } from '@tauri-apps/api/mocks';
import { Preview } from './Preview';
import type { SceneCollection } from './scenes';
import { ScenesDock } from './ScenesDock';
import { useScenes } from './useScenes';

export interface Sent {
  scenes: SceneCollection;
  fadeMs: number;
}

export function SceneEditors({ preview = true }: { preview?: boolean }) {
  const model = useScenes(true);
  return (
    <>
      {preview && <Preview model={model} />}
      <ScenesDock model={model} ready />
    </>
  );
}

/**
 * Answers `scenes` with `collection`; `set_scenes` is refused with `refuse` if given, and
 * `set_canvas` answers `canvas(orientation)` or, if that throws, refuses with its message.
 */
export function mockEngine(
  collection: SceneCollection,
  options: { refuse?: string; canvas?: (orientation: string) => SceneCollection } = {},
): { sent: Sent[]; canvas: unknown[]; previews: unknown[] } {
  const sent: Sent[] = [];
  const canvas: unknown[] = [];
  const previews: unknown[] = [];
  mockIPC(
    (cmd, args) => {
      if (cmd === 'scenes') return collection;
      if (cmd === 'cameras')
        return [
          {
            device: '/dev/video0',
            name: 'USB Camera',
            modes: [
              { width: 1920, height: 1080, fps: 30, format: 'mjpeg' },
              { width: 1920, height: 1080, fps: 5 },
              { width: 640, height: 480, fps: 30 },
            ],
          },
        ];
      if (cmd === 'set_scenes') {
        if (options.refuse) throw { status: 0, code: 'invalid', message: options.refuse };
        sent.push(args as unknown as Sent);
      }
      if (cmd === 'set_preview_canvas') previews.push(args);
      if (cmd === 'set_canvas') {
        canvas.push(args);
        const orientation = (args as { orientation: string }).orientation;
        try {
          return options.canvas ? options.canvas(orientation) : collection;
        } catch (e) {
          throw { status: 0, code: 'invalid', message: e instanceof Error ? e.message : String(e) };
        }
      }
      return null;
    },
    { shouldMockEvents: true },
  );
  // Pictures come over the `preview://` scheme (the frame, the other canvas's monitor).
  mockConvertFileSrc('linux');
  return { sent, canvas, previews };
}
