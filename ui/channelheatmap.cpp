#include "channelheatmap.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <qcustomplot.h>

#include "formatting.h"
#include "plotexport.h"
#include "plotstyle.h"

namespace droplora::ui {

namespace {
constexpr int kMaxRowLabels = 40;  // beyond this, label every k-th row

// "model.layers.3.self_attn.q_proj" → ("3", "q_proj"); ("?", name) when there is no layer.
std::pair<QString, QString> layerAndType(const QString& module) {
    const QStringList parts = module.split(QLatin1Char('.'));
    const int at = static_cast<int>(parts.indexOf(QStringLiteral("layers")));
    const QString layer = at >= 0 && at + 1 < parts.size() ? parts[at + 1] : QStringLiteral("?");
    return {layer, parts.value(parts.size() - 1)};
}
}

ChannelHeatmap::ChannelHeatmap(QWidget* parent)
    : QWidget(parent),
      m_statistic(new QComboBox(this)),
      m_grouping(new QComboBox(this)),
      m_title(new QLabel(this)),
      m_caption(makeCaption(this)),
      m_plot(new QCustomPlot(this)) {
    m_statistic->addItem(tr("keep frequency"), static_cast<int>(Statistic::KeepFraction));
    m_statistic->addItem(tr("energy"), static_cast<int>(Statistic::Energy));
    m_statistic->addItem(tr("gradient norm"), static_cast<int>(Statistic::GradNorm));
    m_grouping->setObjectName(QStringLiteral("heatmapGrouping"));
    m_grouping->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_statistic->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_grouping->addItem(tr("auto"), static_cast<int>(Grouping::Auto));
    m_grouping->addItem(tr("every module"), static_cast<int>(Grouping::Modules));
    m_grouping->addItem(tr("by layer"), static_cast<int>(Grouping::Layers));
    m_grouping->addItem(tr("by module type"), static_cast<int>(Grouping::ModuleTypes));
    m_grouping->setToolTip(tr("Rows: every adapted module, or the mean of each layer's modules, or the mean of "
                              "each module type over the layers (auto: by layer beyond %1 modules)")
                               .arg(kMaxModuleRows));
    auto* bar = new QHBoxLayout;
    bar->addWidget(m_title, 1);
    bar->addWidget(m_grouping);
    bar->addWidget(m_statistic);
    bar->addWidget(makeHelpButton(helpHtml(), this));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(m_caption);
    layout->addWidget(m_plot, 1);

    m_plot->xAxis->setLabel(tr("rank channel"));
    m_plot->yAxis->setRangeReversed(true);  // the first module on top
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
    // Many rows: the wheel zooms and a drag scrolls them (the channels stay whole).
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Vertical);
    m_plot->axisRect()->setRangeZoom(Qt::Vertical);
    applyPlotStyle(m_plot);
    installPlotExportMenu(m_plot, QStringLiteral("rank-channels"));

    connect(m_statistic, &QComboBox::currentIndexChanged, this, &ChannelHeatmap::rebuild);
    connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] { updateRowLabels(); });
    connect(m_grouping, &QComboBox::currentIndexChanged, this, [this] {
        regroup();
        rebuild();
    });
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (e->button() != Qt::LeftButton) return;
        int column = 0;
        const int row = rowAt(e->pos(), &column);
        if (row < 0 || m_display[row].members.isEmpty() || m_display[row].summary) return;
        m_selected = m_display[row].members.first();
        updateSelection();
        emit moduleSelected(m_modules.at(m_selected));
    });
    connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        int column = 0;
        const int row = rowAt(e->pos(), &column);
        if (row < 0) return QToolTip::hideText();
        QToolTip::showText(e->globalPosition().toPoint(), cellToolTip(row, column), m_plot);
    });
    clear();
}

QString ChannelHeatmap::helpHtml() {
    return tr("<p><b>What the rank-channel heatmap shows</b></p>"
              "<p>One row per adapted module (layer and projection), one column per rank channel i of the "
              "adapter ΔW = s·B·A (channel i is column i of B with row i of A).</p>"
              "<ul><li><b>Keep frequency</b>: the share of steps (or tokens) in which DropLoRA kept the channel "
              "since the previous sample. Channels are dropped at random with probability p, so every cell "
              "should sit near <b>1−p</b> (marked on the colour scale); a pattern, a row or a column far from "
              "it, means the mask is not uniform. Plain LoRA keeps every channel: all 1.</li>"
              "<li><b>Energy</b>: s·‖B[:,i]‖·‖A[i,:]‖, how much channel i contributes to the update. DropLoRA "
              "aims to spread the energy over the channels; a few bright columns mean a few channels carry "
              "the update (it behaves like a lower rank).</li>"
              "<li><b>Gradient norm</b>: how strongly the last step pushed each channel. Zero in a dropped "
              "channel; very bright rows point at the modules that learn most.</li></ul>"
              "<p>Hover a cell for its module, layer, channel and value; click a row to show that module in "
              "the subspace plots.</p>");
}

QString ChannelHeatmap::cellToolTip(int row, int column) const {
    if (row < 0 || row >= m_display.size()) return {};
    const DisplayRow& d = m_display[row];
    const double v = displayValue(row, column);
    const QString value = std::isnan(v) ? tr("no value") : QString::number(v, 'g', 3);
    if (d.members.size() == 1 && !d.summary) {
        const auto [layer, type] = layerAndType(m_modules.value(d.members.first()));
        return tr("layer %1 · %2 · channel %3\n%4: %5")
            .arg(layer, type, QString::number(column), m_statistic->currentText(), value);
    }
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int m : d.members) {
        const double x = cellValue(m, column);
        if (std::isnan(x)) continue;
        lo = std::min(lo, x);
        hi = std::max(hi, x);
    }
    const QString spread = lo <= hi ? tr(" (modules from %1 to %2)").arg(QString::number(lo, 'g', 3), QString::number(hi, 'g', 3))
                                    : QString();
    return tr("%1 · %2 modules · channel %3\n%4: mean %5%6%7")
        .arg(d.label)
        .arg(d.members.size())
        .arg(column)
        .arg(m_statistic->currentText(), value, spread,
             d.summary ? QString() : tr("\nclick: show its first module in the subspace plots"));
}

void ChannelHeatmap::setDropRate(double p) {
    m_dropRate = std::clamp(p, 0.0, 1.0);
    rebuild();
}

void ChannelHeatmap::clear() {
    m_sample = {};
    m_modules.clear();
    m_columns = 0;
    m_selected = -1;
    regroup();
    rebuild();
}

void ChannelHeatmap::setGrouping(Grouping grouping) {
    m_grouping->setCurrentIndex(m_grouping->findData(static_cast<int>(grouping)));
}

ChannelHeatmap::Grouping ChannelHeatmap::grouping() const {
    return static_cast<Grouping>(m_grouping->currentData().toInt());
}

ChannelHeatmap::Grouping ChannelHeatmap::effectiveGrouping() const {
    const Grouping g = grouping();
    if (g != Grouping::Auto) return g;
    return m_modules.size() > kMaxModuleRows ? Grouping::Layers : Grouping::Modules;
}

// The drawn rows for the current modules and grouping, in the modules' order
// of first appearance; the mean of every module last.
void ChannelHeatmap::regroup() {
    m_display.clear();
    if (m_modules.isEmpty()) return;
    const Grouping g = effectiveGrouping();
    if (g == Grouping::Modules) {
        for (int i = 0; i < m_modules.size(); ++i) m_display.append({shortModuleName(m_modules[i]), {i}, false});
    } else {
        QStringList keys;
        for (int i = 0; i < m_modules.size(); ++i) {
            const auto [layer, type] = layerAndType(m_modules[i]);
            const QString key = g == Grouping::Layers ? tr("layer %1").arg(layer) : type;
            int at = static_cast<int>(keys.indexOf(key));
            if (at < 0) {
                keys.append(key);
                m_display.append({key, {}, false});
                at = static_cast<int>(keys.size()) - 1;
            }
            m_display[at].members.append(i);
        }
    }
    DisplayRow all{tr("all (mean)"), {}, true};
    for (int i = 0; i < m_modules.size(); ++i) all.members.append(i);
    m_display.append(all);
}

QString ChannelHeatmap::displayLabel(int row) const {
    return row >= 0 && row < m_display.size() ? m_display[row].label : QString();
}

QStringList ChannelHeatmap::displayMembers(int row) const {
    QStringList out;
    if (row < 0 || row >= m_display.size()) return out;
    for (int m : m_display[row].members) out.append(m_modules.value(m));
    return out;
}

double ChannelHeatmap::displayValue(int row, int column) const {
    if (row < 0 || row >= m_display.size()) return std::nan("");
    double sum = 0;
    int n = 0;
    for (int m : m_display[row].members) {
        const double v = cellValue(m, column);
        if (std::isnan(v)) continue;
        sum += v;
        ++n;
    }
    return n ? sum / n : std::nan("");
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
    regroup();
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
    const int rows = m_display.size();
    m_title->setToolTip(tr("%1 adapted modules").arg(m_modules.size()));
    m_title->setText(tr("<b>Rank channels</b>"));  // the step leads the caption: the combos keep their room
    m_caption->setText(captionText());
    auto* data = m_map->data();
    if (rows == 0 || m_columns == 0) {
        data->setSize(1, 1);
        data->setRange(QCPRange(0, 0), QCPRange(0, 0));
        data->fill(std::nan(""));
        m_map->setDataRange(QCPRange(0, 1));
        m_scale->axis()->setLabel(m_statistic->currentText());
        m_plot->xAxis->setRange(-0.5, 0.5);
        m_plot->yAxis->setRange(-0.5, 0.5);
        m_drawnRows = 0;
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
        for (int c = 0; c < m_columns; ++c) data->setCell(c, r, displayValue(r, c));
    if (statistic() == Statistic::KeepFraction) {
        m_map->setDataRange(QCPRange(0, 1));
        // The colour scale marks where every cell should sit: 1 − p.
        auto scaleTicker = QSharedPointer<QCPAxisTickerText>::create();
        const double expected = 1.0 - m_dropRate;
        for (double t : {0.0, 0.25, 0.5, 0.75, 1.0})
            if (std::abs(t - expected) > 0.08) scaleTicker->addTick(t, QString::number(t));
        scaleTicker->addTick(expected, QStringLiteral("1−p = %1").arg(QString::number(expected, 'g', 3)));
        m_scale->axis()->setTicker(scaleTicker);
    } else {
        m_scale->axis()->setTicker(QSharedPointer<QCPAxisTicker>::create());
        m_map->rescaleDataRange(true);
    }
    m_scale->axis()->setLabel(m_statistic->currentText());

    updateRowLabels();
    m_plot->xAxis->setRange(-0.5, m_columns - 0.5);
    if (rows != m_drawnRows) m_plot->yAxis->setRange(-0.5, rows - 0.5);  // else keep the reader's zoom
    m_drawnRows = rows;
    updateSelection();
}

// Row labels where they fit: every k-th row, so that labels never overlap in the
// plot's height (at most kMaxRowLabels), and always the mean's row.
void ChannelHeatmap::updateRowLabels() {
    const int rows = m_display.size();
    if (rows == 0) return;
    const double visible = std::max(1.0, m_plot->yAxis->range().size());
    const int height = m_plot->axisRect()->height() > 0 ? m_plot->axisRect()->height() : m_plot->height();
    const int lineHeight = QFontMetrics(m_plot->yAxis->tickLabelFont()).height() + 1;
    const int fit = std::clamp(height / std::max(1, lineHeight), 1, kMaxRowLabels);
    const int every = std::max(1, static_cast<int>(std::ceil(std::min<double>(rows, visible) / fit)));
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (int r = 0; r < rows - 1; r += every)
        if (rows - 1 - r >= every) ticker->addTick(r, m_display[r].label);  // not crowding the mean's label
    ticker->addTick(rows - 1, m_display.last().label);
    m_plot->yAxis->setTicker(ticker);
}

void ChannelHeatmap::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    updateRowLabels();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ChannelHeatmap::updateSelection() {
    int shown = -1;  // the drawn row that holds the selected module
    for (int r = 0; r < m_display.size() && shown < 0; ++r)
        if (!m_display[r].summary && m_display[r].members.contains(m_selected)) shown = r;
    const bool visible = m_selected >= 0 && shown >= 0 && m_columns > 0;
    m_highlight->setVisible(visible);
    if (visible) {
        m_highlight->topLeft->setCoords(-0.5, shown - 0.5);
        m_highlight->bottomRight->setCoords(m_columns - 0.5, shown + 0.5);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString ChannelHeatmap::captionText() const {
    if (m_sample.modules.empty()) return tr("Per rank channel of each adapted module; appears with the first statistics sample.");
    double sum = 0;
    int n = 0;
    for (int r = 0; r < rowCount(); ++r)
        for (int c = 0; c < m_columns; ++c) {
            const double v = cellValue(r, c);
            if (!std::isnan(v)) {
                sum += v;
                ++n;
            }
        }
    const QString mean = n ? QString::number(sum / n, 'g', 3) : QStringLiteral("–");
    const QString step = tr("Step %1: ").arg(m_sample.step);
    switch (statistic()) {
    case Statistic::KeepFraction:
        return step + tr("how often each channel was kept: mean %1, expected about 1−p = %2.")
            .arg(mean, QString::number(1.0 - m_dropRate, 'g', 3));
    case Statistic::Energy:
        return step + tr("how much each channel contributes to the update (mean %1): even columns mean the rank is used.")
            .arg(mean);
    case Statistic::GradNorm:
        return step + tr("how strongly the last step pushed each channel (mean %1); dropped channels get none.").arg(mean);
    }
    return {};
}

int ChannelHeatmap::rowAt(const QPoint& pos, int* column) const {
    if (m_display.isEmpty() || !m_plot->axisRect()->rect().contains(pos)) return -1;
    double key = 0, value = 0;
    m_map->pixelsToCoords(QPointF(pos), key, value);
    const int row = static_cast<int>(std::lround(value));
    const int col = static_cast<int>(std::lround(key));
    if (row < 0 || row >= m_display.size() || col < 0 || col >= m_columns) return -1;
    *column = col;
    return row;
}

}  // namespace droplora::ui
