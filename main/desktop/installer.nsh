; Included by electron-builder's NSIS script (electron-builder.yml: nsis.include).
; Adds the installer page "Запускать Спутник при входе в Windows" (checked by default) and
; writes the same per-user Run entry Electron's app.setLoginItemSettings writes
; (value name = the AppUserModelId, command = "<exe>" --hidden), so the app's own autostart
; checkbox sees and can undo it. The uninstaller removes it.
!ifndef BUILD_UNINSTALLER
  !include nsDialogs.nsh
  Var SputnikAutostartBox
  Var SputnikAutostart

  !macro customPageAfterChangeDir
    Page custom SputnikAutostartPage SputnikAutostartLeave
  !macroend

  Function SputnikAutostartPage
    nsDialogs::Create 1018
    Pop $0
    ${NSD_CreateCheckbox} 0 0 100% 12u "Запускать Спутник при входе в Windows (в трее)"
    Pop $SputnikAutostartBox
    ${NSD_Check} $SputnikAutostartBox
    nsDialogs::Show
  FunctionEnd

  Function SputnikAutostartLeave
    ${NSD_GetState} $SputnikAutostartBox $SputnikAutostart
  FunctionEnd
!endif

!macro customInstall
  ${if} $SputnikAutostart == ${BST_CHECKED}
    WriteRegStr HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "ru.sputnik.app" '"$INSTDIR\${APP_EXECUTABLE_FILENAME}" --hidden'
  ${endif}
!macroend

!macro customUnInstall
  DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "ru.sputnik.app"
!macroend
