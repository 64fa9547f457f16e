import { render } from 'preact';
import { App } from './app';
import { initTheme } from './ui/theme';
import './styles.css';

initTheme();
const root = document.getElementById('app') as HTMLElement;
// The "Loading…" placeholder of index.html goes: render() would keep DOM it did not make.
root.textContent = '';
render(<App />, root);
