import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { initI18n } from '../i18n';
import '../shared/base.css';
import './studio.css';
import { App } from './App';
import { applySavedLanguage } from './settings';

initI18n({ storage: null });
void applySavedLanguage();
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
