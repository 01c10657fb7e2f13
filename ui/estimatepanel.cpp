#include "estimatepanel.h"

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTemporaryDir>
#include <QVBoxLayout>
#include <algorithm>
#include <mutex>
#include <vector>

#include "backgroundjob.h"
#include "common/cpu_features.h"
#include "config/run_presets.h"
#include "model/llama_config.h"
#include "train/devices.h"
#include "train/footprint.h"
#include "train/trainer.h"

namespace droplora::ui {

namespace {

QString mib(double m) {
    return m >= 1024 ? QStringLiteral("%1 GiB").arg(m / 1024, 0, 'f', 2) : QStringLiteral("%1 MiB").arg(m, 0, 'f', 0);
}

QString count(qint64 n) {
    if (n >= 1000000000) return QStringLiteral("%1 B").arg(double(n) / 1e9, 0, 'f', 2);
    if (n >= 1000000) return QStringLiteral("%1 M").arg(double(n) / 1e6, 0, 'f', 2);
    if (n >= 1000) return QStringLiteral("%1 k").arg(double(n) / 1e3, 0, 'f', 1);
    return QString::number(n);
}

QString duration(double s) {
    if (s < 90) return QObject::tr("%1 s").arg(s, 0, 'f', 0);
    if (s < 5400) return QObject::tr("%1 min").arg(s / 60, 0, 'f', 0);
    return QObject::tr("%1 h").arg(s / 3600, 0, 'f', 1);
}

bool onCuda(const std::string& device) {
    if (device.rfind("cuda", 0) == 0) return true;
    if (device != "auto") return false;
    const auto devices = droplora::train::available_devices();
    return std::any_of(devices.begin(), devices.end(), [](const std::string& d) { return d.rfind("cuda", 0) == 0; });
}

// What a timing depends on: a change of any of these makes it stale.
QString timingKey(const droplora::config::RunConfig& c) {
    QStringList targets;
    for (const auto& t : c.adapter.targets) targets << QString::fromStdString(t);
    return QStringLiteral("%1|%2|%3|%4|%5|%6|%7|%8|%9|%10|%11")
        .arg(QString::fromStdString(c.model), QString::fromStdString(c.data.train))
        .arg(c.data.max_seq_len)
        .arg(QString::fromStdString(c.adapter.method))
        .arg(c.adapter.rank)
        .arg(targets.join(QLatin1Char(',')))
        .arg(c.train.batch_size)
        .arg(c.train.grad_accum)
        .arg(c.train.gradient_checkpointing)
        .arg(QString::fromStdString(c.device), QString::fromStdString(c.precision));
}

// Collects the warm-up's step times on the training thread.
class StepTimes : public droplora::train::Observer {
public:
    void on_step(const droplora::train::StepMetrics& m) override {
        std::lock_guard<std::mutex> lock(mutex);
        elapsed.push_back(m.elapsed_s);
    }
    std::mutex mutex;
    std::vector<double> elapsed;
};

}  // namespace

EstimatePanel::EstimatePanel(QWidget* parent)
    : QWidget(parent),
      m_preset(new QComboBox),
      m_parameters(new QLabel),
      m_memory(new QLabel),
      m_time(new QLabel),
      m_measure(new QPushButton(tr("Measure time"))),
      m_job(new BackgroundJob(QStringLiteral("droplora-warmup"), this)) {
    m_preset->setObjectName(QStringLiteral("preset"));
    m_preset->addItem(tr("Fill the form from a preset…"));
    for (const auto& p : droplora::config::run_presets()) {
        m_preset->addItem(QString::fromStdString(p.name));
        m_preset->setItemData(m_preset->count() - 1, QString::fromStdString(p.description), Qt::ToolTipRole);
    }
    m_preset->setToolTip(tr("Sets a few settings of the form (adapter and training); the model, data and run "
                            "folder stay as they are"));
    connect(m_preset, &QComboBox::activated, this, [this](int index) {
        if (index <= 0) return;
        const QString name = m_preset->itemText(index);
        m_preset->setCurrentIndex(0);
        emit presetChosen(name);
    });
    for (QLabel* label : {m_parameters, m_memory, m_time}) {
        label->setWordWrap(true);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    }
    m_parameters->setObjectName(QStringLiteral("trainableParameters"));
    m_memory->setObjectName(QStringLiteral("memoryEstimate"));
    m_time->setObjectName(QStringLiteral("timeEstimate"));
    m_memory->setToolTip(tr("Estimated from the model's config.json and the form (train/footprint.h): frozen "
                            "weights, the adapters with their gradients and AdamW's moments, what the backward "
                            "pass keeps of the activations, the loss over the vocabulary and LibTorch's own "
                            "memory. The batch is taken as long as the longest row of the training file."));
    m_measure->setObjectName(QStringLiteral("measureTime"));
    m_measure->setToolTip(tr("Trains three steps of this run into a temporary folder and times the last two"));
    connect(m_measure, &QPushButton::clicked, this, &EstimatePanel::measureTime);
    connect(m_job, &BackgroundJob::failed, this, [this](const QString& message) {
        m_secondsPerStep = 0;
        m_time->setText(tr("Time: the warm-up failed: %1").arg(message));
        m_measure->setEnabled(!m_busy);
    });

    auto* timeRow = new QHBoxLayout;
    timeRow->addWidget(m_time, 1);
    timeRow->addWidget(m_measure, 0, Qt::AlignTop);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_preset);
    layout->addWidget(m_parameters);
    layout->addWidget(m_memory);
    layout->addLayout(timeRow);
    refresh();
}

EstimatePanel::~EstimatePanel() = default;  // m_job, a child, waits for a warm-up (three steps)

bool EstimatePanel::hasEstimate() const { return m_footprint != nullptr; }

const droplora::train::Footprint& EstimatePanel::footprint() const { return *m_footprint; }

QString EstimatePanel::parametersText() const { return m_parameters->text(); }
QString EstimatePanel::memoryText() const { return m_memory->text(); }
QString EstimatePanel::timeText() const { return m_time->text(); }

void EstimatePanel::setInputs(const droplora::config::RunConfig& config, qint64 longestRow) {
    m_config = config;
    m_longestRow = longestRow;
    refresh();
}

void EstimatePanel::setTrainingBusy(bool busy) {
    m_busy = busy;
    m_measure->setEnabled(!busy && !m_job->isRunning());
}

void EstimatePanel::refresh() {
    m_footprint.reset();
    m_problem.clear();
    const QString model = QString::fromStdString(m_config.model);
    const QString configPath = QDir(model).filePath(QStringLiteral("config.json"));
    if (model.isEmpty()) {
        m_problem = tr("choose a model (Model tab)");
    } else if (!QFileInfo::exists(configPath)) {
        m_problem = tr("%1: not found").arg(configPath);
    } else {
        try {
            const auto llama = droplora::model::LlamaConfig::from_file(configPath.toStdString());
            const qint64 seq = m_longestRow > 0 ? std::min<qint64>(m_longestRow, m_config.data.max_seq_len)
                                                : m_config.data.max_seq_len;
            const bool cuda = onCuda(m_config.device);
            const bool bf16 = droplora::precision_is_bf16(m_config.precision, cuda, m_config.adapter.method == "full");
            m_footprint = std::make_unique<droplora::train::Footprint>(
                droplora::train::estimate_footprint(llama, m_config, seq, cuda, bf16));
        } catch (const std::exception& e) {
            m_problem = QString::fromUtf8(e.what());
        }
    }
    if (!m_footprint) {
        m_parameters->setText(tr("Trainable parameters: — (%1)").arg(m_problem));
        m_memory->setText(tr("Peak memory: —"));
    } else {
        const auto& f = *m_footprint;
        m_parameters->setText(tr("Trainable parameters: <b>%1</b> of %2 (%3 %)")
                                  .arg(count(f.trainable_parameters), count(f.model_parameters))
                                  .arg(f.trainable_percent, 0, 'f', f.trainable_percent < 1 ? 3 : 1));
        const bool ckpt = m_config.train.gradient_checkpointing;
        const QString where = onCuda(m_config.device) ? tr("GPU memory") : tr("memory");
        m_memory->setText(tr("Peak %1 ≈ <b>%2</b> — weights %3, adapters + AdamW %4, activations %5, logits %6%7 "
                             "(%8 tokens per micro-batch); %9 gradient checkpointing ≈ %10")
                              .arg(where, mib(f.peak_mib), mib(f.weights_mib), mib(f.training_mib),
                                   mib(f.activations_mib), mib(f.logits_mib),
                                   f.runtime_mib > 0 ? tr(", runtime %1").arg(mib(f.runtime_mib)) : QString())
                              .arg(f.tokens_per_micro_batch)
                              .arg(ckpt ? tr("without") : tr("with"), mib(f.peak_flipped_mib)));
    }
    showTime();
}

void EstimatePanel::showTime() {
    m_measure->setEnabled(!m_busy && !m_job->isRunning() && m_footprint);
    if (m_job->isRunning()) return;
    if (m_secondsPerStep <= 0) {
        m_time->setText(tr("Time: measure a short warm-up to estimate it"));
        return;
    }
    QString text = tr("Time: %1 s per step (measured)").arg(m_secondsPerStep, 0, 'f', m_secondsPerStep < 10 ? 2 : 1);
    if (m_config.train.max_steps > 0)
        text += tr(" → ≈ <b>%1</b> for %2 steps, evaluation and checkpoints extra")
                    .arg(duration(m_secondsPerStep * double(m_config.train.max_steps)))
                    .arg(m_config.train.max_steps);
    if (m_timedWhat != timingKey(m_config)) text += tr(" — measured with other settings: measure again");
    m_time->setText(text);
}

bool EstimatePanel::measureTime() {
    if (m_job->isRunning() || m_busy || !m_footprint) return false;
    auto dir = std::make_shared<QTemporaryDir>();
    if (!dir->isValid()) {
        m_time->setText(tr("Time: cannot make a temporary folder for the warm-up"));
        return false;
    }
    droplora::config::RunConfig c = m_config;
    c.train.max_steps = 3;  // the first step pays for warming up; the last two are timed
    c.train.epochs = 0;
    c.train.warmup_steps = 0;
    c.train.eval_every = 0;
    c.train.save_every = 0;
    c.train.log_every = 1;
    c.data.val.clear();
    c.data.val_fraction = 0;
    c.output = dir->filePath(QStringLiteral("warmup")).toStdString();
    m_timedWhat = timingKey(m_config);
    m_time->setText(tr("Time: training three warm-up steps…"));
    m_measure->setEnabled(false);
    return m_job->run<double>(
        [c, dir](BackgroundJob::Context& ctx) {
            StepTimes times;
            droplora::train::RunControl control;
            const auto result = droplora::train::run_training(c, times, control);
            if (result.outcome != droplora::train::RunOutcome::Finished)
                throw std::runtime_error(result.message.empty() ? "the warm-up did not finish" : result.message);
            (void)ctx;
            std::lock_guard<std::mutex> lock(times.mutex);
            if (times.elapsed.size() < 3) throw std::runtime_error("the warm-up reported fewer than three steps");
            return (times.elapsed[2] - times.elapsed[0]) / 2.0;
        },
        [this](double&& secondsPerStep) {
            m_secondsPerStep = secondsPerStep;
            showTime();
            emit timeMeasured(secondsPerStep);
        });
}

}  // namespace droplora::ui
