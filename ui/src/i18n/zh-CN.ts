// Source of truth for UI strings; `en` must provide exactly the same keys (checked by tsc).
export const zhCN = {
  common: {
    language: '语言',
    languages: { 'zh-CN': '简体中文', en: 'English' },
  },
  studio: {
    title: 'AnchorDesk 直播工作台',
    relay: {
      heading: '内置中继服务',
      state: {
        starting: '启动中…',
        running: '运行中',
        unhealthy: '无响应',
        failed: '启动失败',
        stopped: '已停止',
      },
      url: '地址',
      viewerPage: '观众页面',
      error: '错误',
    },
  },
  viewer: {
    title: 'AnchorDesk 直播间',
    offline: '主播暂未开播，敬请期待',
    relayVersion: '中继版本 {{version}}',
    relayUnreachable: '无法连接直播服务，请稍后刷新',
  },
};

/** Same shape as `zhCN`, with any strings: used to type the other languages. */
export type Messages = Widen<typeof zhCN>;
type Widen<T> = { [K in keyof T]: T[K] extends string ? string : Widen<T[K]> };
