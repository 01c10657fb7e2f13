#include "subspaceplot.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <qcustomplot.h>

#include "formatting.h"
#include "plotexport.h"
#include "plotstyle.h"

namespace droplora::ui {

namespace {

const QColor kModuleColour(0x19, 0x76, 0xd2);
const QColor kMeanColour(0x61, 0x61, 0x61);
const QColor kFirstColour(0xef, 0x6c, 0x00);

QCPGraph* addLine(QCustomPlot* plot, const QString& name, const QColor& colour, Qt::PenStyle style, double width) {
    QCPGraph* g = plot->addGraph();
    g->setName(name);
    g->setPen(QPen(colour, width, style));
    return g;
}

QVector<double> toVector(const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); }

QVector<double> indices(size_t n) {
    QVector<double> x;
    for (size_t i = 0; i < n; ++i) x.append(static_cast<double>(i + 1));
    return x;
}

}  // namespace

QCustomPlot* SubspacePlot::makePlot(const QString& xLabel, const QString& yLabel, QWidget* parent) {
    auto* plot = new QCustomPlot(parent);
    plot->setMinimumSize(160, 120);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->legend->setVisible(true);
    plot->legend->setRowSpacing(0);
    applyPlotStyle(plot);
    placeLegendBelow(plot, 2);  // small plots: two entries a row
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    return plot;
}

SubspacePlot::SubspacePlot(QWidget* parent)
    : QWidget(parent),
      m_title(new QLabel(this)),
      m_rankPlot(makePlot(tr("step"), tr("effective rank"), this)),
      m_driftPlot(makePlot(tr("step"), tr("subspace drift"), this)),
      m_spectrumPlot(makePlot(tr("index"), tr("singular value"), this)) {
    auto* grid = new QGridLayout;
    grid->setSpacing(2);
    grid->addWidget(m_rankPlot, 0, 0);
    grid->addWidget(m_driftPlot, 0, 1);
    grid->addWidget(m_spectrumPlot, 1, 0, 1, 2);
    auto* caption = makeCaption(this);
    caption->setText(tr("How the learned update ΔW = s·B·A changes: how many directions it uses, how fast they turn, "
                        "and how its strength spreads over them."));
    auto* header = new QHBoxLayout;
    header->addWidget(m_title, 1);
    header->addWidget(makeHelpButton(helpHtml(), this));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(header);
    layout->addWidget(caption);
    layout->addLayout(grid, 1);

    m_rankModule = addLine(m_rankPlot, tr("module"), kModuleColour, Qt::SolidLine, 2);
    m_rankMean = addLine(m_rankPlot, tr("mean"), kMeanColour, Qt::DashLine, 1.5);
    m_driftPrevModule = addLine(m_driftPlot, tr("module vs prev"), kModuleColour, Qt::SolidLine, 2);
    m_driftFirstModule = addLine(m_driftPlot, tr("module vs first"), kFirstColour, Qt::SolidLine, 2);
    m_driftPrevMean = addLine(m_driftPlot, tr("mean vs prev"), kModuleColour, Qt::DashLine, 1);
    m_driftFirstMean = addLine(m_driftPlot, tr("mean vs first"), kFirstColour, Qt::DashLine, 1);
    m_spectrumNow = addLine(m_spectrumPlot, tr("now"), kModuleColour, Qt::SolidLine, 2);
    m_spectrumNow->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
    m_spectrumFirst = addLine(m_spectrumPlot, tr("first"), kFirstColour, Qt::DashLine, 1.5);
    m_spectrumFirst->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
    m_driftPlot->yAxis->setRange(0, 1);
    installPlotExportMenu(m_rankPlot, QStringLiteral("effective-rank"), [this] { redraw(); });
    installPlotExportMenu(m_driftPlot, QStringLiteral("subspace-drift"), [this] { redraw(); });
    installPlotExportMenu(m_spectrumPlot, QStringLiteral("singular-values"), [this] { redraw(); });
    redraw();
}

QString SubspacePlot::helpHtml() {
    return tr("<p><b>What the subspace plots show</b></p>"
              "<p>The adapter adds ΔW = s·B·A to a weight matrix. Its singular values say how strong it is in each "
              "of its r directions.</p>"
              "<ul><li><b>Effective rank</b>: how many directions ΔW really uses (exp of the entropy of the "
              "normalised singular values; at most r). Near 1: one direction dominates. Near r: all channels "
              "carry weight. DropLoRA's random channel drops usually keep it higher than plain LoRA.</li>"
              "<li><b>Subspace drift</b>: how far the directions moved, 0 (same) to 1 (unrelated), against the "
              "previous sample (solid) and the first (dashed). Early in training it is high; it should settle. "
              "A drift to the previous sample that stays high means the update keeps turning (learning rate "
              "too high?).</li>"
              "<li><b>Singular values</b>: the spectrum now against the first sample. A healthy run grows the "
              "values as it learns; one value far above the others means the update is nearly rank one.</li></ul>"
              "<p>Click a row of the rank-channel heatmap to show one module; otherwise the mean over modules.</p>");
}

void SubspacePlot::clear() {
    m_modules.clear();
    m_mean = {};
    redraw();
}

void SubspacePlot::setHistory(const QVector<droplora::train::StatsSample>& samples) {
    m_modules.clear();
    m_mean = {};
    for (const auto& s : samples) addSample(s);
    redraw();
}

void SubspacePlot::append(Series& s, qint64 step, double rank, double driftPrev, double driftFirst,
                          const std::vector<double>& spectrum) {
    s.steps.append(static_cast<double>(step));
    s.effectiveRank.append(rank);
    s.driftPrev.append(driftPrev);
    s.driftFirst.append(driftFirst);
    if (s.firstSpectrum.empty()) {
        s.firstSpectrum = spectrum;
        s.firstStep = step;
    }
    s.lastSpectrum = spectrum;
    s.lastStep = step;
}

void SubspacePlot::addSample(const droplora::train::StatsSample& sample) {
    if (sample.modules.empty()) return;
    double rank = 0, prev = 0, first = 0;
    std::vector<double> spectrum;
    for (const auto& m : sample.modules) {
        append(m_modules[QString::fromStdString(m.module)], sample.step, m.effective_rank, m.drift_prev, m.drift_first,
               m.singular_values);
        rank += m.effective_rank;
        prev += m.drift_prev;
        first += m.drift_first;
        if (spectrum.size() < m.singular_values.size()) spectrum.resize(m.singular_values.size(), 0.0);
        for (size_t i = 0; i < m.singular_values.size(); ++i) spectrum[i] += m.singular_values[i];
    }
    const auto n = static_cast<double>(sample.modules.size());
    for (double& v : spectrum) v /= n;
    append(m_mean, sample.step, rank / n, prev / n, first / n, spectrum);
    redraw();
}

void SubspacePlot::setModule(const QString& module) {
    m_selected = module;
    redraw();
}

void SubspacePlot::redraw() {
    const auto it = m_modules.constFind(m_selected);
    const Series* module = it != m_modules.constEnd() ? &*it : nullptr;
    const Series& spectrumSource = module ? *module : m_mean;
    m_title->setText(module ? tr("<b>Subspace</b> — %1").arg(shortModuleName(m_selected))
                            : tr("<b>Subspace</b> — mean over modules (click a heatmap row to pick one)"));

    m_rankMean->setData(m_mean.steps, m_mean.effectiveRank, true);
    m_driftPrevMean->setData(m_mean.steps, m_mean.driftPrev, true);
    m_driftFirstMean->setData(m_mean.steps, m_mean.driftFirst, true);
    for (QCPGraph* g : {m_rankModule, m_driftPrevModule, m_driftFirstModule}) g->setVisible(module != nullptr);
    for (QCPGraph* g : {m_rankModule, m_driftPrevModule, m_driftFirstModule}) g->removeFromLegend();
    if (module) {
        m_rankModule->setData(module->steps, module->effectiveRank, true);
        m_driftPrevModule->setData(module->steps, module->driftPrev, true);
        m_driftFirstModule->setData(module->steps, module->driftFirst, true);
        for (QCPGraph* g : {m_rankModule, m_driftPrevModule, m_driftFirstModule}) g->addToLegend();
    } else {
        for (QCPGraph* g : {m_rankModule, m_driftPrevModule, m_driftFirstModule}) g->data()->clear();
    }
    m_spectrumNow->setData(indices(spectrumSource.lastSpectrum.size()), toVector(spectrumSource.lastSpectrum), true);
    m_spectrumFirst->setData(indices(spectrumSource.firstSpectrum.size()), toVector(spectrumSource.firstSpectrum), true);
    const bool sampled = !spectrumSource.lastSpectrum.empty();
    m_spectrumNow->setName(sampled ? tr("step %1").arg(spectrumSource.lastStep) : tr("now"));
    m_spectrumFirst->setName(sampled ? tr("step %1 (first)").arg(spectrumSource.firstStep) : tr("first sample"));

    m_rankPlot->rescaleAxes();
    bool ok = false;
    const QCPRange r = m_rankPlot->yAxis->range();
    m_rankPlot->yAxis->setRange(0, std::max(1.0, r.upper * 1.1));
    m_driftPlot->xAxis->setRange(m_rankPlot->xAxis->range());
    const QCPRange d = m_driftPrevMean->getValueRange(ok);
    double top = ok ? d.upper : 0;
    for (QCPGraph* g : {m_driftFirstMean, m_driftPrevModule, m_driftFirstModule}) {
        const QCPRange gr = g->getValueRange(ok);
        if (ok) top = std::max(top, gr.upper);
    }
    m_driftPlot->yAxis->setRange(0, std::clamp(top * 1.15, 0.05, 1.0));
    m_spectrumPlot->rescaleAxes();
    const QCPRange sx = m_spectrumPlot->xAxis->range();
    m_spectrumPlot->xAxis->setRange(0.5, std::max(1.5, sx.upper + 0.5));
    m_spectrumPlot->yAxis->setRange(0, std::max(1e-9, m_spectrumPlot->yAxis->range().upper * 1.1));
    for (QCustomPlot* p : {m_rankPlot, m_driftPlot, m_spectrumPlot}) p->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace droplora::ui
