#include "channelheatmap.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QToolTip>
#include <QVBoxLayout>
#include <cmath>
#include <limits>
#include <qcustomplot.h>

#include "formatting.h"
#include "plotexport.h"

namespace droplora::ui {

namespace {
constexpr int kMaxRowLabels = 40;  // beyond this, label every k-th row
}

ChannelHeatmap::ChannelHeatmap(QWidget* parent)
    : QWidget(parent), m_statistic(new QComboBox(this)), m_title(new QLabel(this)), m_plot(new QCustomPlot(this)) {
    m_statistic->addItem(tr("keep frequency"), static_cast<int>(Statistic::KeepFraction));
    m_statistic->addItem(tr("energy"), static_cast<int>(Statistic::Energy));
    m_statistic->addItem(tr("gradient norm"), static_cast<int>(Statistic::GradNorm));
    auto* bar = new QHBoxLayout;
    bar->addWidget(m_title, 1);
    bar->addWidget(m_statistic);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);

    m_plot->xAxis->setLabel(tr("rank channel"));
    m_plot->yAxis->setRangeReversed(true);  // the first module on top
    m_plot->yAxis->setTickLabelFont(QFont(font().family(), std::max(6, font().pointSize() - 2)));
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->yAxis->grid()->setVisible(false);
    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_scale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_map->setColorScale(m_scale);
    QCPColorGradient gradient(QCPColorGradient::gpThermal);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    m_map->setGradient(gradient);
    auto* margins = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_highlight = new QCPItemRect(m_plot);
    m_highlight->setPen(QPen(QColor(0x00, 0xe5, 0xff), 2));
    m_highlight->setBrush(Qt::NoBrush);
    m_highlight->setVisible(false);
    m_plot->setMouseTracking(true);
    installPlotExportMenu(m_plot, QStringLiteral("rank-channels"));

    connect(m_statistic, &QComboBox::currentIndexChanged, this, &ChannelHeatmap::rebuild);
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (e->button() != Qt::LeftButton) return;
        int column = 0;
        const int row = rowAt(e->pos(), &column);
        if (row < 0) return;
        m_selected = row;
        updateSelection();
        emit moduleSelected(m_modules.at(row));
    });
    connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        int column = 0;
        const int row = rowAt(e->pos(), &column);
        if (row < 0) return QToolTip::hideText();
        QToolTip::showText(e->globalPosition().toPoint(), QStringLiteral("%1 · channel %2: %3")
                                                              .arg(m_modules.at(row))
                                                              .arg(column)
                                                              .arg(formatNumber(cellValue(row, column))),
                           m_plot);
    });
    clear();
}

void ChannelHeatmap::clear() {
    m_sample = {};
    m_modules.clear();
    m_columns = 0;
    m_selected = -1;
    rebuild();
}

void ChannelHeatmap::setStatistic(Statistic statistic) {
    m_statistic->setCurrentIndex(m_statistic->findData(static_cast<int>(statistic)));
}

ChannelHeatmap::Statistic ChannelHeatmap::statistic() const {
    return static_cast<Statistic>(m_statistic->currentData().toInt());
}

QString ChannelHeatmap::selectedModule() const {
    return m_selected >= 0 && m_selected < m_modules.size() ? m_modules.at(m_selected) : QString();
}

const std::vector<double>& ChannelHeatmap::values(const droplora::train::ModuleStats& m) const {
    switch (statistic()) {
    case Statistic::Energy: return m.energy;
    case Statistic::GradNorm: return m.grad_norm;
    case Statistic::KeepFraction: break;
    }
    return m.keep_fraction;
}

double ChannelHeatmap::cellValue(int row, int column) const {
    if (row < 0 || row >= static_cast<int>(m_sample.modules.size()) || column < 0) return std::nan("");
    const auto& v = values(m_sample.modules[static_cast<size_t>(row)]);
    return column < static_cast<int>(v.size()) ? v[static_cast<size_t>(column)] : std::nan("");
}

void ChannelHeatmap::setSample(const droplora::train::StatsSample& sample) {
    const QString selected = selectedModule();
    m_sample = sample;
    m_modules.clear();
    m_columns = 0;
    for (const auto& m : sample.modules) {
        m_modules.append(QString::fromStdString(m.module));
        m_columns = std::max(m_columns, static_cast<int>(m.keep_fraction.size()));
    }
    m_selected = m_modules.indexOf(selected);
    rebuild();
}

void ChannelHeatmap::selectModule(const QString& module) {
    const int row = m_modules.indexOf(module);
    if (row == m_selected) return;
    m_selected = row;
    updateSelection();
    if (row >= 0) emit moduleSelected(module);
}

void ChannelHeatmap::rebuild() {
    const int rows = m_modules.size();
    m_title->setText(rows ? tr("<b>Rank channels</b> — step %1").arg(m_sample.step)
                          : tr("<b>Rank channels</b> — no statistics yet"));
    auto* data = m_map->data();
    if (rows == 0 || m_columns == 0) {
        data->setSize(1, 1);
        data->setRange(QCPRange(0, 0), QCPRange(0, 0));
        data->fill(std::nan(""));
        m_map->setDataRange(QCPRange(0, 1));
        m_scale->axis()->setLabel(m_statistic->currentText());
        m_plot->xAxis->setRange(-0.5, 0.5);
        m_plot->yAxis->setRange(-0.5, 0.5);
        m_plot->xAxis->setTicks(false);
        m_plot->yAxis->setTicks(false);
        updateSelection();
        return;
    }
    m_plot->xAxis->setTicks(true);
    m_plot->yAxis->setTicks(true);
    data->setSize(m_columns, rows);
    data->setRange(QCPRange(0, m_columns - 1), QCPRange(0, rows - 1));
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < m_columns; ++c) data->setCell(c, r, cellValue(r, c));
    if (statistic() == Statistic::KeepFraction)
        m_map->setDataRange(QCPRange(0, 1));
    else
        m_map->rescaleDataRange(true);
    m_scale->axis()->setLabel(m_statistic->currentText());

    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const int every = (rows + kMaxRowLabels - 1) / kMaxRowLabels;
    for (int r = 0; r < rows; r += every) ticker->addTick(r, shortModuleName(m_modules.at(r)));
    m_plot->yAxis->setTicker(ticker);
    m_plot->xAxis->setRange(-0.5, m_columns - 0.5);
    m_plot->yAxis->setRange(-0.5, rows - 0.5);
    updateSelection();
}

void ChannelHeatmap::updateSelection() {
    const bool visible = m_selected >= 0 && m_selected < m_modules.size() && m_columns > 0;
    m_highlight->setVisible(visible);
    if (visible) {
        m_highlight->topLeft->setCoords(-0.5, m_selected - 0.5);
        m_highlight->bottomRight->setCoords(m_columns - 0.5, m_selected + 0.5);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int ChannelHeatmap::rowAt(const QPoint& pos, int* column) const {
    if (m_modules.isEmpty() || !m_plot->axisRect()->rect().contains(pos)) return -1;
    double key = 0, value = 0;
    m_map->pixelsToCoords(QPointF(pos), key, value);
    const int row = static_cast<int>(std::lround(value));
    const int col = static_cast<int>(std::lround(key));
    if (row < 0 || row >= m_modules.size() || col < 0 || col >= m_columns) return -1;
    *column = col;
    return row;
}

}  // namespace droplora::ui
