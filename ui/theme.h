// The workbench's colours: the system's (the platform theme's palette, so a
// dark desktop gives a dark workbench), or a light or dark palette chosen in
// View → Theme and remembered. Plots follow whichever is in use (plotstyle.h).
#pragma once

#include <QString>

namespace droplora::ui {

enum class Theme { System, Light, Dark };

// Remembers the system's palette; call once, before the first applyTheme().
void captureSystemPalette();
void applyTheme(Theme theme);
Theme savedTheme();
void saveTheme(Theme theme);
QString themeName(Theme theme);

}  // namespace droplora::ui
