// Saving plots: a right-click menu on every QCustomPlot of the workbench
// ("Save as PNG…", "Save as PDF…", and "Reset view" when given), and the
// function behind it for code and tests.
#pragma once

#include <QString>
#include <functional>

class QCustomPlot;

namespace droplora::ui {

// Writes the plot as PNG or PDF, chosen by the file's suffix. Returns false
// (and sets *error) when the suffix is unknown or the file cannot be written.
bool savePlot(QCustomPlot* plot, const QString& path, QString* error = nullptr);

// Asks for a .png or .pdf file name and saves there; errors go to Dialogs.
void savePlotInteractively(QCustomPlot* plot, const QString& baseName);

// `resetView` (optional) restores the automatic axis ranges.
void installPlotExportMenu(QCustomPlot* plot, const QString& baseName, std::function<void()> resetView = {});

}  // namespace droplora::ui
