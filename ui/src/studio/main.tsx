import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { initI18n } from '../i18n';
import '../shared/base.css';
import './studio.css';
import { App } from './App';
import { syncLanguage } from './settings';

initI18n();
void syncLanguage();
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
