import { contextBridge, ipcRenderer } from 'electron';
import { createSputnikApi } from './api.ts';

contextBridge.exposeInMainWorld('sputnik', createSputnikApi(ipcRenderer));
