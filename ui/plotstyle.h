// What every plot of the workbench shares: fonts readable at 100 % scaling
// (the window's font, not a smaller one), colours that follow the palette
// (a dark system theme gives dark plots, and they follow a theme change), the
// legend outside the data, and a header with a one-line caption and a "?"
// that explains what the plot shows and what to look for.
#pragma once

#include <QString>

class QCustomPlot;
class QLabel;
class QToolButton;
class QWidget;

namespace droplora::ui {

// Fonts and palette colours now and whenever the palette changes.
void applyPlotStyle(QCustomPlot* plot);
// Moves the legend from inside the axis rect to a row below it (several entries per row).
void placeLegendBelow(QCustomPlot* plot, int columns);
// A "?" button that shows `helpHtml` on click (and as its tooltip).
QToolButton* makeHelpButton(const QString& helpHtml, QWidget* parent);
// A caption line under a plot's title: small, wrapped, selectable.
QLabel* makeCaption(QWidget* parent);
// True when the palette's window colour is dark.
bool isDarkPalette(const QWidget* widget);

}  // namespace droplora::ui
