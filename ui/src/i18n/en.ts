import type { Messages } from './zh-CN';

export const en: Messages = {
  common: {
    language: 'Language',
    languages: { 'zh-CN': '简体中文', en: 'English' },
  },
  studio: {
    title: 'AnchorDesk Live Studio',
    relay: {
      heading: 'Bundled relay',
      state: {
        starting: 'Starting…',
        running: 'Running',
        unhealthy: 'Not responding',
        failed: 'Failed to start',
        stopped: 'Stopped',
      },
      url: 'Address',
      viewerPage: 'Viewer page',
      error: 'Error',
    },
  },
  viewer: {
    title: 'AnchorDesk Live Room',
    offline: 'The host is not live yet',
    relayVersion: 'Relay {{version}}',
    relayUnreachable: 'Cannot reach the live service, please refresh later',
  },
};
