# Install rules: `cmake --install build --prefix /usr` lays out what
# packaging/deb.sh packages (docs/packaging.md). Included by the top CMakeLists.txt.
set(_desktop ${PROJECT_SOURCE_DIR}/resources/desktop)
set(_app_id io.github.droplora.Workbench)

# No RUNPATH in the installed files (qt_standard_project_setup would set
# $ORIGIN/../lib): every library is in the system's folders, and the shim is
# opened by its full path.
set_target_properties(droplora droplora_spm PROPERTIES INSTALL_RPATH "")
install(TARGETS droplora RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The sentencepiece shim is dlopen-ed by path (common/install_paths.h), so it
# lives in the package's private folder, not on the linker's search path.
install(TARGETS droplora_spm LIBRARY DESTINATION ${DROPLORA_INSTALL_PRIVLIBDIR})

# The demo: model, datasets and the two run files whose relative paths stay valid.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/models/demo-base DESTINATION ${DROPLORA_INSTALL_DATADIR}/models)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/datasets/ DESTINATION ${DROPLORA_INSTALL_DATADIR}/datasets
        FILES_MATCHING PATTERN "*.jsonl" PATTERN "README.md")
install(FILES ${PROJECT_SOURCE_DIR}/resources/configs/demo.yaml ${PROJECT_SOURCE_DIR}/resources/configs/demo-lora.yaml
        DESTINATION ${DROPLORA_INSTALL_DATADIR}/configs)

install(FILES ${_desktop}/droplora.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${_desktop}/droplora.bash-completion DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME droplora)

if(DROPLORA_BUILD_GUI)
  set_target_properties(droplora-workbench PROPERTIES INSTALL_RPATH "")
  install(TARGETS droplora-workbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${_desktop}/droplora-workbench.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${_desktop}/${_app_id}.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  install(FILES ${_desktop}/${_app_id}.metainfo.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
  install(FILES ${_desktop}/icons/${_app_id}.svg DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
  foreach(size 16 24 32 48 64 128 256 512)
    install(FILES ${_desktop}/icons/${size}/${_app_id}.png
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps)
  endforeach()
endif()
