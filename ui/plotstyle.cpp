#include "plotstyle.h"

#include <QEvent>
#include <QLabel>
#include <QToolButton>
#include <QWhatsThis>
#include <qcustomplot.h>

namespace droplora::ui {

namespace {

void style(QCustomPlot* plot) {
    const QPalette pal = plot->palette();
    const QColor text = pal.color(QPalette::WindowText);
    QColor grid = pal.color(QPalette::Mid);
    grid.setAlpha(110);
    const QFont font = plot->font();
    plot->setBackground(pal.brush(QPalette::Base));
    for (QCPAxisRect* rect : plot->axisRects()) rect->setBackground(pal.brush(QPalette::Base));
    for (QCPAxis* axis : plot->findChildren<QCPAxis*>()) {
        axis->setBasePen(QPen(text, 1));
        axis->setTickPen(QPen(text, 1));
        axis->setSubTickPen(QPen(text, 1));
        axis->setTickLabelColor(text);
        axis->setLabelColor(text);
        axis->setTickLabelFont(font);
        axis->setLabelFont(font);
        axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
    }
    if (plot->legend) {
        QColor fill = pal.color(QPalette::Base);
        fill.setAlpha(200);
        plot->legend->setBrush(fill);
        plot->legend->setBorderPen(Qt::NoPen);
        plot->legend->setTextColor(text);
        plot->legend->setFont(font);
    }
}

// Re-styles its plot when the palette or the font changes (a system theme switch).
class PlotStyleWatcher : public QObject {
public:
    explicit PlotStyleWatcher(QCustomPlot* plot) : QObject(plot), m_plot(plot) { plot->installEventFilter(this); }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override {
        const QEvent::Type t = event->type();
        if (watched == m_plot && (t == QEvent::PaletteChange || t == QEvent::ApplicationPaletteChange ||
                                  t == QEvent::FontChange)) {
            style(m_plot);
            m_plot->replot(QCustomPlot::rpQueuedReplot);
        }
        return QObject::eventFilter(watched, event);
    }

private:
    QCustomPlot* m_plot;
};

}  // namespace

void applyPlotStyle(QCustomPlot* plot) {
    style(plot);
    if (!plot->findChild<PlotStyleWatcher*>(QString(), Qt::FindDirectChildrenOnly)) new PlotStyleWatcher(plot);
}

void placeLegendBelow(QCustomPlot* plot, int columns) {
    if (!plot->legend) return;
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, plot->legend);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setWrap(columns);
    plot->legend->setMargins(QMargins(4, 0, 4, 2));
    // The legend row takes only the height it needs.
    plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
}

QToolButton* makeHelpButton(const QString& helpHtml, QWidget* parent) {
    auto* button = new QToolButton(parent);
    button->setText(QStringLiteral("?"));
    button->setAutoRaise(true);
    button->setToolTip(helpHtml);
    button->setWhatsThis(helpHtml);
    button->setAccessibleName(QObject::tr("What does this plot show?"));
    QObject::connect(button, &QToolButton::clicked, button, [button] {
        QWhatsThis::showText(button->mapToGlobal(QPoint(0, button->height())), button->whatsThis(), button);
    });
    return button;
}

QLabel* makeCaption(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setForegroundRole(QPalette::PlaceholderText);  // muted, and follows a theme change
    return label;
}

bool isDarkPalette(const QWidget* widget) {
    return widget->palette().color(QPalette::Window).lightness() < 128;
}

}  // namespace droplora::ui
